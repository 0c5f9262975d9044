import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../shared/core/canonicalJson.ts';
import { uuidv7 } from '../../shared/core/uuid.ts';
import { ledgerPath } from '../../shared/orchestration/state/events.ts';
import { eventFactory } from '../support/eventFactory.ts';
import { type RunningStack, startLocalStack } from '../support/localStack.ts';

/**
 * Runbook 004 §1 (Delta coordinator recovery) step by step against `npm start`, as curl would do it
 * (docs/runbooks/delta-coordinator-and-rebuild.md is our copy of the runbook for this stack).
 */
describe('runbook 004 against npm start: Delta recovery (§1) and projection rebuild (§2)', () => {
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

  it('§2 rebuilds projections from an explicit ledger manifest and advances the watermarks', async () => {
    const env = stack.env();
    const ARCO_WORKSPACE_ID = 'runbook004rebuild';
    const prefix = `tenant=${tenant}/workspace=${ARCO_WORKSPACE_ID}/`;
    const upload = (key: string, body: string) =>
      fetch(
        `${env.STORAGE_EMULATOR_HOST}/upload/storage/v1/b/${env.ARCO_STORAGE_BUCKET}/o?uploadType=media&name=${encodeURIComponent(prefix + key)}`,
        { method: 'POST', body },
      );
    const cat = async (key: string) =>
      (
        await fetch(
          `${env.STORAGE_EMULATOR_HOST}/storage/v1/b/${env.ARCO_STORAGE_BUCKET}/o/${encodeURIComponent(prefix + key)}?alt=media`,
        )
      ).json();

    // The ledger survived the disaster; the projections did not.
    const f = eventFactory(tenant, ARCO_WORKSPACE_ID, Date.now() - 60_000);
    const events = [
      f.event({
        type: 'run_triggered',
        runId: 'r1',
        planId: 'p1',
        trigger: { manual: { userId: 'ops' } },
        rootAssets: ['a'],
      }),
      f.event({ type: 'plan_created', runId: 'r1', planId: 'p1', tasks: [{ key: 'a', dependsOn: [] }] }),
    ];
    for (const event of events)
      expect((await upload(ledgerPath(event), canonicalJson(event))).status).toBe(200);

    // 2.1 Build and upload an explicit rebuild manifest.
    const REBUILD_KEY = `state/orchestration/rebuilds/${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}.json`;
    await upload(REBUILD_KEY, JSON.stringify({ event_paths: events.map(ledgerPath) }));

    // 2.2 Trigger /rebuild on the compactor with an internal token.
    const ARCO_INTERNAL_TOKEN = stack.token([
      '--internal',
      '--tenant',
      tenant,
      '--workspace',
      ARCO_WORKSPACE_ID,
    ]);
    const response = await fetch(`${env.ARCO_ORCH_COMPACTOR_URL}/rebuild`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ARCO_INTERNAL_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ rebuild_manifest_path: REBUILD_KEY }),
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as Record<string, unknown>;
    expect(result.events_processed).toBe(2);
    expect(result.manifest_revision).toMatch(/^[0-9A-Z]{26}$/);
    expect(['visible', 'persisted_not_visible']).toContain(result.visibility_status);

    // 2.3 The pointer names a manifest whose watermarks advanced to the newest replayed event.
    const POINTER = (await cat('state/orchestration/manifest.pointer.json')) as { manifest_path: string };
    const manifest = (await cat(POINTER.manifest_path)) as {
      watermarks: { last_visible_event_id: string; last_processed_at: string };
    };
    expect(manifest.watermarks.last_visible_event_id).toBe(events[1]!.eventId);
    expect(Date.now() - Date.parse(manifest.watermarks.last_processed_at)).toBeLessThan(60_000);

    // The CLI does the same call; everything listed is at or below the watermark now, so nothing replays.
    const again = JSON.parse(
      stack.arco(['rebuild', REBUILD_KEY], {
        ARCO_ORCH_COMPACTOR_URL: env.ARCO_ORCH_COMPACTOR_URL!,
        ARCO_INTERNAL_TOKEN,
      }),
    );
    expect(again).toMatchObject({ events_processed: 0, manifest_revision: result.manifest_revision });
  });
});
