import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../shared/core/uuid.ts';
import { type RunningStack, startLocalStack } from '../support/localStack.ts';

/**
 * Runbook 004 §1 (Delta coordinator recovery) step by step against `npm start`, as curl would do it
 * (docs/runbooks/delta-coordinator-and-rebuild.md is our copy of the runbook for this stack).
 */
describe('runbook 004 §1: Delta commit coordinator recovery', () => {
  let stack: RunningStack;
  let token: string;
  let internalToken: string;
  const tenant = 'demo';
  const workspace = 'runbook004';
  beforeAll(async () => {
    stack = await startLocalStack({ ARCO_DEMO: '0', ARCO_AUTOTICK: '0' });
    token = stack.token(['--tenant', tenant, '--workspace', workspace, '--roles', 'producer,operator']);
    internalToken = stack.token(['--internal']);
  });
  afterAll(() => stack.stop());

  const call = async (method: string, path: string, body?: unknown, auth = token) => {
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${auth}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  for (const failpoint of ['delta.after_reserve', 'delta.after_log', 'delta.after_marker']) {
    it(`recovers a commit interrupted at ${failpoint} by replaying the original request`, async () => {
      const table = await call('POST', '/api/v1/delta/tables', {
        name: `analytics.orders_${failpoint.split('.')[1]}`,
      });
      expect(table.status).toBe(201);
      const tableId = String(table.body.table_id);
      const staged = await call('POST', `/api/v1/delta/tables/${tableId}/commits/stage`, {
        payload: JSON.stringify({ commitInfo: { operation: 'WRITE', timestamp: 1 } }),
      });
      const IDEMPOTENCY_KEY = uuidv7();
      const request = { read_version: 0, ...staged.body, idempotency_key: IDEMPOTENCY_KEY };
      await call('POST', '/internal/failpoints', { [failpoint]: 1 }, internalToken);
      expect((await call('POST', `/api/v1/delta/tables/${tableId}/commits`, request)).status).toBe(500);

      // 1.1 Inspect current coordinator state: inflight present, latest_version lagging.
      const before = await call('GET', `/api/v1/delta/tables/${tableId}/coordinator`);
      expect(before.body).toMatchObject({
        latest_version: 0,
        inflight: { commit_id: IDEMPOTENCY_KEY, version: 1 },
      });
      const viaCli = stack.arco(['delta', 'coordinator', tableId], {
        ARCO_API_URL: stack.url,
        ARCO_TOKEN: token,
      });
      expect(JSON.parse(viaCli)).toEqual(before.body);

      // 1.2 Replay the original commit request: 200 with stable version and delta_log_path.
      const replays = [];
      for (let i = 0; i < 3; i += 1)
        replays.push(await call('POST', `/api/v1/delta/tables/${tableId}/commits`, request));
      for (const replay of replays) {
        expect(replay.status).toBe(200);
        expect(replay.body).toEqual(replays[0]!.body);
      }
      const version = Number(replays[0]!.body.version);
      expect(replays[0]!.body.delta_log_path).toBe(`tables/${tableId}/_delta_log/00000000000000000001.json`);

      // 1.3 Verify the idempotency marker exists and the coordinator is finalized.
      const KEY_HASH = createHash('sha256').update(IDEMPOTENCY_KEY).digest('hex');
      const IDEMP_PATH = `delta/idempotency/${tableId}/${KEY_HASH.slice(0, 2)}/${KEY_HASH}.json`;
      const env = stack.env();
      const object = `tenant=${tenant}/workspace=${workspace}/${IDEMP_PATH}`;
      const listed = await fetch(
        `${env.STORAGE_EMULATOR_HOST}/storage/v1/b/${env.ARCO_STORAGE_BUCKET}/o?prefix=${encodeURIComponent(object)}`,
      );
      expect(((await listed.json()) as { items: Array<{ name: string }> }).items.map((i) => i.name)).toEqual([
        object,
      ]);
      const after = await call('GET', `/api/v1/delta/tables/${tableId}/coordinator`);
      expect(after.body.inflight).toBeNull();
      expect(Number(after.body.latest_version)).toBeGreaterThanOrEqual(version);
    });
  }
});
