import { beforeEach, describe, expect, it } from 'vitest';
import { createApiApp } from '../../functions/api/app.ts';
import { ManualClock } from '../../shared/adapters/clock.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { uuidv7 } from '../../shared/core/uuid.ts';
import { logPath, markerPath } from '../../shared/delta/deltaPaths.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { apiClient } from '../support/apiClient.ts';
import { bearer, testDependencies, uniqueName } from '../support/testDependencies.ts';

const addAction = (path: string) =>
  JSON.stringify({
    add: { path, partitionValues: {}, size: 100, modificationTime: 1767000000000, dataChange: true },
  });

interface Table {
  table_id: string;
  latest_version: number;
  location: string;
}
interface Staged {
  staged_path: string;
  staged_version: string;
}
interface Committed {
  version: number;
  delta_log_path: string;
}

describe('Delta commit coordinator over HTTP, on the emulators', () => {
  let deps: Dependencies;
  let clock: ManualClock;
  let api: ReturnType<typeof apiClient>;
  let internal: ReturnType<typeof apiClient>;
  const scope = { tenant: 'acme', workspace: uniqueName('ws') };

  beforeEach(async () => {
    clock = new ManualClock(new Date('2026-11-23T10:00:00Z'));
    deps = await testDependencies({ clock });
    const app = createApiApp(deps);
    api = apiClient(app, await bearer({ ...scope, roles: ['producer'] }));
    internal = apiClient(app, await bearer({ internal: true }));
  });

  const objects = () => scopedObjectStore(deps.objects, scope);
  const createTable = async (name = uniqueName('orders').replace('-', '_'), extra = {}) => {
    const response = await api.post<Table>('/api/v1/delta/tables', { name: `analytics.${name}`, ...extra });
    expect(response.status).toBe(201);
    return response.body;
  };
  const stage = async (tableId: string, file: string) => {
    const response = await api.post<Staged>(`/api/v1/delta/tables/${tableId}/commits/stage`, {
      payload: addAction(file),
    });
    expect(response.status).toBe(200);
    return response.body;
  };
  const commit = (tableId: string, body: Record<string, unknown>, headers?: Record<string, string>) =>
    api.post<Committed>(`/api/v1/delta/tables/${tableId}/commits`, body, headers);
  const coordinator = async (tableId: string) =>
    (
      await api.get<{ latest_version: number; inflight: unknown }>(
        `/api/v1/delta/tables/${tableId}/coordinator`,
      )
    ).body;
  /** Known-key reads only: every version 0..n has exactly one log object, n+1 none. */
  const logVersions = async (table: Table) => {
    const versions: number[] = [];
    for (let v = 0; ; v += 1) {
      if (!(await objects().head(logPath(table.location, v)))) break;
      versions.push(v);
    }
    return versions;
  };

  it('creates a table with version 0 (protocol + metaData) written through the commit path', async () => {
    const table = await createTable('orders', {
      partition_columns: ['day'],
      location: 'warehouse/sales/orders_delta',
    });
    expect(table).toMatchObject({
      location: 'warehouse/sales/orders_delta',
      partition_columns: ['day'],
      latest_version: 0,
    });
    expect(table.table_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    const log = await objects().get('warehouse/sales/orders_delta/_delta_log/00000000000000000000.json');
    const actions = log!.bytes
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(actions.map((a) => Object.keys(a)[0])).toEqual(['protocol', 'metaData', 'commitInfo']);
    expect(actions[1].metaData).toMatchObject({ id: table.table_id, partitionColumns: ['day'] });
    expect((await api.get(`/api/v1/delta/tables?name=analytics.orders`)).body).toEqual({ tables: [table] });
    expect((await api.get(`/api/v1/delta/tables/${table.table_id}`)).body).toEqual(table);

    const again = await api.post('/api/v1/delta/tables', {
      name: 'analytics.orders',
      partition_columns: ['day'],
      location: 'warehouse/sales/orders_delta',
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(table);
    const clash = await api.post('/api/v1/delta/tables', { name: 'analytics.orders' });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ details: { reason: 'table_exists', existing_id: table.table_id } });
    const escape = await api.post('/api/v1/delta/tables', { name: 'analytics.evil', location: '../other' });
    expect(escape.status).toBe(400);
  });

  it('commits at read_version+1 and replays the same key and body with the identical answer', async () => {
    const table = await createTable();
    const staged = await stage(table.table_id, 'part-0001.parquet');
    const key = uuidv7();
    const body = { read_version: 0, ...staged, idempotency_key: key };
    const first = await commit(table.table_id, body);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      version: 1,
      delta_log_path: `${table.location}/_delta_log/00000000000000000001.json`,
    });
    for (let i = 0; i < 3; i += 1) {
      const replay = await commit(table.table_id, body);
      expect(replay.status).toBe(200);
      expect(replay.body).toEqual(first.body);
    }
    const viaHeader = await commit(
      table.table_id,
      { read_version: 0, ...staged },
      { 'Idempotency-Key': key },
    );
    expect(viaHeader.body).toEqual(first.body);
    expect(await objects().head(markerPath(table.table_id, key))).not.toBeNull();
    expect(await coordinator(table.table_id)).toEqual({ latest_version: 1, inflight: null });

    const other = await stage(table.table_id, 'part-0002.parquet');
    const reused = await commit(table.table_id, { read_version: 0, ...other, idempotency_key: key });
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ code: 'CONFLICT', details: { reason: 'idempotency_key_reused' } });
    const stale = await commit(table.table_id, { read_version: 0, ...other, idempotency_key: uuidv7() });
    expect(stale.body).toMatchObject({ details: { reason: 'stale_read_version' } });
    expect(await logVersions(table)).toEqual([0, 1]);
  });

  it('refuses bad requests before reserving anything', async () => {
    const table = await createTable();
    const staged = await stage(table.table_id, 'a.parquet');
    const cases: Array<[Record<string, unknown>, Record<string, string>, string]> = [
      [{ read_version: 0, ...staged }, {}, 'invalid_idempotency_key'],
      [{ read_version: 0, ...staged, idempotency_key: 'not-a-uuid' }, {}, 'invalid_idempotency_key'],
      [
        { read_version: 0, ...staged, idempotency_key: uuidv7() },
        { 'Idempotency-Key': uuidv7() },
        'invalid_idempotency_key',
      ],
      [
        { read_version: 0, ...staged, staged_path: 'delta/staging/other/x.json', idempotency_key: uuidv7() },
        {},
        'invalid_staged_path',
      ],
    ];
    for (const [body, headers, reason] of cases) {
      const response = await commit(table.table_id, body, headers);
      expect(response.status, reason).toBe(400);
      expect(response.body).toMatchObject({ details: { reason } });
    }
    expect(
      (await api.post(`/api/v1/delta/tables/not-a-uuid/commits`, { read_version: 0, ...staged })).status,
    ).toBe(400);
    const malformed = await api.post(`/api/v1/delta/tables/${table.table_id}/commits/stage`, {
      payload: `${addAction('a')}\n{"add":{"path":"b"}}`,
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ details: { reason: 'invalid_payload', line: 2 } });
    const mismatch = await commit(table.table_id, {
      read_version: 0,
      ...staged,
      staged_version: '1',
      idempotency_key: uuidv7(),
    });
    expect(mismatch.body).toMatchObject({ details: { reason: 'staged_version_mismatch' } });
    expect(await coordinator(table.table_id)).toEqual({ latest_version: 0, inflight: null });
  });

  for (const failpoint of ['delta.after_reserve', 'delta.after_log', 'delta.after_marker']) {
    it(`converges after a crash at ${failpoint}: the same-key replay returns the version, exactly one log entry`, async () => {
      const table = await createTable();
      const staged = await stage(table.table_id, 'crash.parquet');
      const body = { read_version: 0, ...staged, idempotency_key: uuidv7() };
      await internal.post('/internal/failpoints', { [failpoint]: 1 });
      const crashed = await commit(table.table_id, body);
      expect(crashed.status).toBe(500);
      expect(crashed.body).toMatchObject({ code: 'injected_fault' });
      const stuck = await coordinator(table.table_id);
      expect(stuck).toMatchObject({
        latest_version: 0,
        inflight: { commit_id: body.idempotency_key, version: 1 },
      });

      const replay = await commit(table.table_id, body);
      expect(replay.status).toBe(200);
      expect(replay.body).toEqual({
        version: 1,
        delta_log_path: `${table.location}/_delta_log/00000000000000000001.json`,
      });
      expect((await commit(table.table_id, body)).body).toEqual(replay.body);
      expect(await coordinator(table.table_id)).toEqual({ latest_version: 1, inflight: null });
      expect(await objects().head(markerPath(table.table_id, body.idempotency_key))).not.toBeNull();
      expect(await logVersions(table)).toEqual([0, 1]);
    });
  }

  it('lets the next writer recover a stuck reservation of another key without losing it', async () => {
    const table = await createTable();
    const a = { read_version: 0, ...(await stage(table.table_id, 'a.parquet')), idempotency_key: uuidv7() };
    const b = { read_version: 0, ...(await stage(table.table_id, 'b.parquet')), idempotency_key: uuidv7() };
    await internal.post('/internal/failpoints', { 'delta.after_reserve': 1 });
    expect((await commit(table.table_id, a)).status).toBe(500);

    const waiting = await commit(table.table_id, b);
    expect(waiting.status).toBe(409);
    expect(waiting.body).toMatchObject({ details: { reason: 'commit_in_progress' } });
    expect(Number(waiting.headers.get('retry-after'))).toBeGreaterThan(0);

    clock.advance(301_000);
    const afterTtl = await commit(table.table_id, b);
    expect(afterTtl.body).toMatchObject({ details: { reason: 'stale_read_version' } });
    expect(await coordinator(table.table_id)).toEqual({ latest_version: 1, inflight: null });
    const log1 = await objects().get(logPath(table.location, 1));
    expect(log1!.bytes.toString()).toContain('a.parquet');
    expect((await commit(table.table_id, a)).body).toMatchObject({ version: 1 });
    expect(
      (await commit(table.table_id, { ...b, read_version: 1, idempotency_key: uuidv7() })).body,
    ).toMatchObject({
      version: 2,
    });
    expect(await logVersions(table)).toEqual([0, 1, 2]);
  });

  it('recovers a reservation whose log is written at once, without waiting for its TTL', async () => {
    const table = await createTable();
    const a = { read_version: 0, ...(await stage(table.table_id, 'a.parquet')), idempotency_key: uuidv7() };
    const b = { read_version: 1, ...(await stage(table.table_id, 'b.parquet')), idempotency_key: uuidv7() };
    await internal.post('/internal/failpoints', { 'delta.after_log': 1 });
    expect((await commit(table.table_id, a)).status).toBe(500);
    expect((await commit(table.table_id, b)).body).toMatchObject({ version: 2 });
    expect((await commit(table.table_id, a)).body).toMatchObject({ version: 1 });
  });

  it('settles 10 writers racing on one read_version with exactly one winner', async () => {
    const table = await createTable();
    const requests = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => ({
        read_version: 0,
        ...(await stage(table.table_id, `race-${i}.parquet`)),
        idempotency_key: uuidv7(),
      })),
    );
    const results = await Promise.all(requests.map((body) => commit(table.table_id, body)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(9);
    expect(await logVersions(table)).toEqual([0, 1]);
    expect(await coordinator(table.table_id)).toEqual({ latest_version: 1, inflight: null });
  });

  // npm test runs a small soak; ARCO_SOAK_WRITERS=8 ARCO_SOAK_COMMITS=200 runs the full one.
  const writers = Number(process.env.ARCO_SOAK_WRITERS ?? 4);
  const commitsEach = Number(process.env.ARCO_SOAK_COMMITS ?? 5);
  it(
    'keeps versions gap-free and duplicate-free under concurrent writers (soak)',
    async () => {
      const table = await createTable();
      const committed: number[] = [];
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let n = 0; n < commitsEach; n += 1) {
            const staged = await stage(table.table_id, `w${w}-${n}.parquet`);
            for (;;) {
              const latest = (await coordinator(table.table_id)).latest_version;
              const result = await commit(table.table_id, {
                read_version: latest,
                ...staged,
                idempotency_key: uuidv7(),
              });
              if (result.status === 200) {
                committed.push(result.body.version);
                break;
              }
              expect(result.status).toBe(409);
            }
          }
        }),
      );
      const total = writers * commitsEach;
      expect(committed.sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(await logVersions(table)).toHaveLength(total + 1);
    },
    Math.max(60_000, writers * commitsEach * 1000),
  );

  it('never lets one workspace read or commit to another workspace’s table', async () => {
    const table = await createTable();
    const staged = await stage(table.table_id, 'mine.parquet');
    const app = createApiApp(deps);
    const intruder = apiClient(
      app,
      await bearer({ tenant: 'acme', workspace: 'intruder', roles: ['producer'] }),
    );
    expect((await intruder.get(`/api/v1/delta/tables/${table.table_id}`)).status).toBe(404);
    expect((await intruder.get(`/api/v1/delta/tables/${table.table_id}/coordinator`)).status).toBe(404);
    const attempt = await intruder.post(`/api/v1/delta/tables/${table.table_id}/commits`, {
      read_version: 0,
      ...staged,
      idempotency_key: uuidv7(),
    });
    expect(attempt.status).toBe(404);
    const consumer = apiClient(app, await bearer({ ...scope, roles: ['consumer'] }));
    expect(
      (
        await consumer.post(`/api/v1/delta/tables/${table.table_id}/commits/stage`, {
          payload: addAction('x'),
        })
      ).status,
    ).toBe(403);
    expect((await consumer.get(`/api/v1/delta/tables/${table.table_id}`)).status).toBe(200);
  });
});
