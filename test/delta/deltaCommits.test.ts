import { beforeEach, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../local/functionApps.ts';
import { ManualClock } from '../../shared/adapters/clock.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { uuidv7 } from '../../shared/core/uuid.ts';
import { deltaServices } from '../../shared/delta/deltaServices.ts';
import { loadSnapshot } from '../../shared/delta/deltaSnapshot.ts';
import { logPath, markerPath, stagingPrefix } from '../../shared/delta/deltaPaths.ts';
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
    const app = createGatewayApp(deps);
    api = apiClient(app, await bearer({ ...scope, roles: ['producer'] }));
    internal = apiClient(app, await bearer({ internal: true }));
  });

  const objects = () => scopedObjectStore(deps.objects, scope);
  const services = () => deltaServices(deps, scope);
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
    expect(clash.body).toMatchObject({
      // What differs, so a run without a partition key writing a partitioned table is told why.
      message:
        'a table named analytics.orders already exists with another partitioning (it has ["day"], the request []), location (it is at warehouse/sales/orders_delta)',
      details: { reason: 'table_exists', existing_id: table.table_id },
    });
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
    const app = createGatewayApp(deps);
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

  describe('one storage location holds one table', () => {
    const create = (name: string, location: string, extra = {}) =>
      api.post<Table & { name: string }>('/api/v1/delta/tables', { name, location, ...extra });
    const listed = async (name: string) =>
      (await api.get<{ tables: Table[] }>(`/api/v1/delta/tables?name=${name}`)).body.tables;

    it('refuses every create on a location held by, inside or around another table, writing nothing', async () => {
      const a = await create('sales.orders_a', 'warehouse/shared/orders');
      expect(a.status).toBe(201);
      const attempts: Array<[string, string]> = [
        ['sales.orders_b', 'warehouse/shared/orders'],
        ['sales.orders_b', 'warehouse/shared/orders'],
        ['sales.orders_b', 'warehouse/shared/orders/'],
        ['sales.orders_c', './warehouse//shared/./orders'],
        [
          'sales.orders_d',
          `gs://bucket/tenant=${scope.tenant}/workspace=${scope.workspace}/warehouse/shared/orders`,
        ],
        ['sales.orders_inner', 'warehouse/shared/orders/inner'],
        ['sales.orders_outer', 'warehouse/shared'],
      ];
      for (const [name, location] of attempts) {
        const refused = await create(name, location);
        expect(refused.status, `${name} at ${location}`).toBe(409);
        expect(refused.body).toMatchObject({
          code: 'CONFLICT',
          message: expect.stringContaining('sales.orders_a'),
          details: {
            reason: 'location_in_use',
            owner_table_id: a.body.table_id,
            owner_name: 'sales.orders_a',
            owner_location: 'warehouse/shared/orders',
          },
          requestId: expect.any(String),
        });
        expect(await listed(name), name).toEqual([]);
      }
      // A location around several tables names one of them.
      const around = await create('sales.orders_outer', 'warehouse');
      expect(around.status).toBe(409);
      expect(around.body).toMatchObject({ details: { reason: 'location_in_use' } });
      expect(await listed('sales.orders_outer')).toEqual([]);
      // The owner itself is unaffected: the same create answers it, under any spelling of its location.
      const again = await create('sales.orders_a', 'warehouse/shared/orders/');
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ table_id: a.body.table_id, latest_version: 0 });
      expect(await logVersions(a.body)).toEqual([0]);
      expect(await coordinator(a.body.table_id)).toEqual({ latest_version: 0, inflight: null });
      // Siblings are separate locations.
      expect((await create('sales.orders_e', 'warehouse/shared/orders_e')).status).toBe(201);
    });

    it('lets exactly one of concurrent creates of different names on one location win', async () => {
      const names = Array.from({ length: 5 }, (_, i) => `sales.race_${i}`);
      // As a client does: a 503 retryable (the creates contend on the claim documents, and on a busy
      // machine the Firestore client's transaction attempts can run out) is sent again.
      const createRetrying = async (name: string, location: string) => {
        for (;;) {
          const answer = await create(name, location);
          const retryable = (answer.body as { details?: { retryable?: boolean } }).details?.retryable;
          if (answer.status !== 503 || !retryable) return answer;
        }
      };
      const results = await Promise.all(names.map((name) => createRetrying(name, 'warehouse/race/orders')));
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      expect(results.filter((r) => r.status === 409).map((r) => r.body)).toEqual(
        Array(4).fill(
          expect.objectContaining({ details: expect.objectContaining({ reason: 'location_in_use' }) }),
        ),
      );
      const winner = results.find((r) => r.status === 201)!.body;
      for (const name of names) expect((await listed(name)).length, name).toBe(name === winner.name ? 1 : 0);
      expect(await logVersions(winner)).toEqual([0]);

      const nested = await Promise.all([
        createRetrying('sales.nest_outer', 'warehouse/nest'),
        createRetrying('sales.nest_inner', 'warehouse/nest/inner'),
      ]);
      expect(nested.map((r) => r.status).sort()).toEqual([201, 409]);
    });

    it('refuses a location whose log belongs to a table created before locations were claimed', async () => {
      // A legacy table: its version 0 exists but it never claimed its root.
      const legacyLog = [
        { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
        {
          metaData: {
            id: 'legacy-id',
            name: 'sales.legacy',
            format: { provider: 'parquet', options: {} },
            schemaString: '{"type":"struct","fields":[]}',
            partitionColumns: [],
            configuration: {},
          },
        },
      ]
        .map((a) => JSON.stringify(a))
        .join('\n');
      await objects().put(logPath('warehouse/legacy', 0), legacyLog, { ifGenerationMatch: 0 });
      for (let i = 0; i < 2; i += 1) {
        const refused = await create('sales.newcomer', 'warehouse/legacy');
        expect(refused.status).toBe(409);
        expect(refused.body).toMatchObject({
          details: {
            reason: 'location_in_use',
            owner_table_id: 'legacy-id',
            owner_name: 'sales.newcomer'.replace('newcomer', 'legacy'),
          },
        });
      }
      expect(await listed('sales.newcomer')).toEqual([]);
      expect((await create('sales.newcomer', 'warehouse/legacy/inner')).body).toMatchObject({
        details: {
          reason: 'location_in_use',
          owner_table_id: 'legacy-id',
          owner_location: 'warehouse/legacy',
        },
      });
      // A name that an older release wrongly registered on that root is refused as well, every time.
      const twin = await services().catalog.create({
        table_id: uuidv7(),
        name: 'sales.legacy_twin',
        location: 'warehouse/legacy',
        root: 'warehouse/legacy',
        partition_columns: [],
        schema_string: '{"type":"struct","fields":[]}',
        format: 'delta',
        created_at: clock.now().toISOString(),
      });
      expect(twin.status).toBe('created');
      for (let i = 0; i < 2; i += 1)
        expect((await create('sales.legacy_twin', 'warehouse/legacy')).body).toMatchObject({
          details: { reason: 'location_in_use', owner_table_id: 'legacy-id' },
        });
    });

    it('refuses a table definition it cannot hold before writing anything', async () => {
      const bad = await create('sales.badly_partitioned', 'warehouse/bad', {
        schema_string: JSON.stringify({
          type: 'struct',
          fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }],
        }),
        partition_columns: ['day'],
      });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ details: { reason: 'invalid_table_definition' } });
      expect(await listed('sales.badly_partitioned')).toEqual([]);
      expect((await create('sales.other', 'warehouse/bad')).status).toBe(201);
    });
  });

  describe('commits checked against the protocol and the table', () => {
    const schemaString = JSON.stringify({
      type: 'struct',
      fields: [
        ['id', 'long'],
        ['day', 'date'],
        ['hour', 'timestamp'],
      ].map(([name, type]) => ({ name, type, nullable: true, metadata: {} })),
    });
    const file = (path: string, partitionValues: Record<string, unknown>, extra = {}) => ({
      add: { path, partitionValues, size: 10, modificationTime: 1767000000000, dataChange: true, ...extra },
    });
    const payload = (...actions: object[]) => actions.map((a) => JSON.stringify(a)).join('\n');
    const stageRaw = (tableId: string, text: string) =>
      api.post<Staged>(`/api/v1/delta/tables/${tableId}/commits/stage`, { payload: text });
    const staged = async (tableId: string) => (await objects().list(stagingPrefix(tableId))).keys.length;

    it('accepts a remove and an add of one path with a new deletion vector, and replays them by (path, dv)', async () => {
      const table = await createTable();
      const commitActions = async (readVersion: number, ...actions: object[]) => {
        const s = await stageRaw(table.table_id, payload(...actions));
        expect(s.status, JSON.stringify(s.body)).toBe(200);
        const c = await commit(table.table_id, {
          read_version: readVersion,
          ...s.body,
          idempotency_key: uuidv7(),
        });
        expect(c.status, JSON.stringify(c.body)).toBe(200);
        return c.body.version;
      };
      const dv = (id: string) => ({
        storageType: 'u',
        pathOrInlineDv: id,
        offset: 1,
        sizeInBytes: 36,
        cardinality: 2,
      });
      expect(await commitActions(0, file('part-1.parquet', {}))).toBe(1);
      expect(
        await commitActions(
          1,
          { remove: { path: 'part-1.parquet', dataChange: true, deletionTimestamp: 2 } },
          file('part-1.parquet', {}, { deletionVector: dv('dv-one') }),
        ),
      ).toBe(2);
      expect(
        await commitActions(
          2,
          { remove: { path: 'part-1.parquet', dataChange: true, deletionVector: dv('dv-one') } },
          file('part-1.parquet', {}, { deletionVector: dv('dv-two') }),
        ),
      ).toBe(3);
      const files = (v: number) => loadSnapshot(objects(), table.location, v).then((snap) => snap.files);
      expect((await files(1)).map((f) => [f.path, f.deletionVector ?? null])).toEqual([
        ['part-1.parquet', null],
      ]);
      expect((await files(2)).map((f) => f.deletionVector?.pathOrInlineDv)).toEqual(['dv-one']);
      expect((await files(3)).map((f) => f.deletionVector?.pathOrInlineDv)).toEqual(['dv-two']);

      const same = await stageRaw(
        table.table_id,
        payload({ remove: { path: 'part-1.parquet', dataChange: true } }, file('part-1.parquet', {})),
      );
      expect(same.status).toBe(400);
      expect(same.body).toMatchObject({
        details: {
          reason: 'invalid_payload',
          line: 2,
          action_index: 1,
          action: 'add',
          path: 'part-1.parquet',
        },
      });
    });

    it('refuses partition values that do not fit the table with 400 naming the action, writing nothing', async () => {
      const table = await createTable(undefined, {
        partition_columns: ['day', 'hour'],
        schema_string: schemaString,
      });
      const before = await staged(table.table_id);
      const good = { day: '2025-01-15', hour: '2025-01-15T10:00:00.000000Z' };
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ day: '2025-01-15' }, 'missing [hour]'],
        [{ ...good, region: 'eu' }, 'not partition columns [region]'],
        [{ ...good, day: '15/01/2025' }, 'is not a date'],
        [{ ...good, hour: 'noon' }, 'is not a timestamp'],
      ];
      for (const [values, message] of cases) {
        const refused = await stageRaw(
          table.table_id,
          payload({ commitInfo: { operation: 'WRITE' } }, file('day=x/part-1.parquet', values)),
        );
        expect(refused.status, message).toBe(400);
        expect(refused.body).toEqual({
          code: 'BAD_REQUEST',
          message: expect.stringContaining(message),
          details: {
            reason: 'invalid_partition_values',
            line: 2,
            action_index: 1,
            action: 'add',
            path: 'day=x/part-1.parquet',
          },
          requestId: expect.any(String),
        });
      }
      expect(await staged(table.table_id)).toBe(before);

      // A writer that stages its payload itself is checked at commit, before anything is reserved.
      const stagedPath = `${stagingPrefix(table.table_id)}${uuidv7()}.json`;
      const put = await objects().put(
        stagedPath,
        payload(file('p.parquet', { day: '2025-01-15', hour: 'x' })),
        {
          ifGenerationMatch: 0,
        },
      );
      const bypass = await commit(table.table_id, {
        read_version: 0,
        staged_path: stagedPath,
        staged_version: put.status === 'written' ? put.generation : '',
        idempotency_key: uuidv7(),
      });
      expect(bypass.status).toBe(400);
      expect(bypass.body).toMatchObject({
        details: { reason: 'invalid_partition_values', path: 'p.parquet' },
      });
      expect(await coordinator(table.table_id)).toEqual({ latest_version: 0, inflight: null });
      expect(await logVersions(table)).toEqual([0]);

      const ok = await stageRaw(
        table.table_id,
        payload(file('p.parquet', { day: null, hour: '2025-01-15 10:00:00' })),
      );
      expect(ok.status).toBe(200);
      expect(
        (await commit(table.table_id, { read_version: 0, ...ok.body, idempotency_key: uuidv7() })).status,
      ).toBe(200);
    });

    it('checks a commit against the metaData at its read_version, including one a later commit set', async () => {
      const table = await createTable(undefined, { partition_columns: ['day'], schema_string: schemaString });
      const dayFile = payload(file('day=2025-01-15/a.parquet', { day: '2025-01-15' }));
      const early = await stageRaw(table.table_id, dayFile);
      expect(early.status).toBe(200);
      const repartition = await stageRaw(
        table.table_id,
        payload({
          metaData: {
            id: table.table_id,
            format: { provider: 'parquet', options: {} },
            schemaString,
            partitionColumns: ['hour'],
            configuration: {},
          },
        }),
      );
      expect(
        (await commit(table.table_id, { read_version: 0, ...repartition.body, idempotency_key: uuidv7() }))
          .status,
      ).toBe(200);
      const late = await commit(table.table_id, {
        read_version: 1,
        ...early.body,
        idempotency_key: uuidv7(),
      });
      expect(late.status).toBe(400);
      expect(late.body).toMatchObject({
        message: expect.stringContaining('missing [hour]'),
        details: { reason: 'invalid_partition_values', line: 1, path: 'day=2025-01-15/a.parquet' },
      });
      expect(await logVersions(table)).toEqual([0, 1]);
      const fits = await stageRaw(table.table_id, payload(file('h.parquet', { hour: '' })));
      expect(
        (await commit(table.table_id, { read_version: 1, ...fits.body, idempotency_key: uuidv7() })).body,
      ).toMatchObject({
        version: 2,
      });
    });
  });
});
