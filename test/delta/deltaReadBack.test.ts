import { beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../local/functionApps.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { uuidv7 } from '../../shared/core/uuid.ts';
import {
  type DeltaColumn,
  deltaSchemaString,
  type Row,
  writeDataFile,
} from '../../shared/delta/deltaDataFiles.ts';
import { logPath } from '../../shared/delta/deltaPaths.ts';
import { loadSnapshot, readRows } from '../../shared/delta/deltaSnapshot.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { apiClient } from '../support/apiClient.ts';
import { bearer, testDependencies, uniqueName } from '../support/testDependencies.ts';

const columns: DeltaColumn[] = [
  { name: 'order_id', type: 'long' },
  { name: 'customer', type: 'string' },
  { name: 'amount', type: 'double' },
  { name: 'day', type: 'string' },
];

describe('a Delta table written as Parquet + log and read back like a Delta reader', () => {
  let deps: Dependencies;
  let api: ReturnType<typeof apiClient>;
  const scope = { tenant: 'acme', workspace: uniqueName('ws') };
  beforeAll(async () => {
    deps = await testDependencies();
    api = apiClient(createGatewayApp(deps), await bearer({ ...scope, roles: ['producer'] }));
  });

  it('replays the log, applies adds and removes, and reads the Parquet files', async () => {
    const objects = scopedObjectStore(deps.objects, scope);
    const created = await api.post<{ table_id: string; location: string }>('/api/v1/delta/tables', {
      name: 'analytics.orders',
      partition_columns: ['day'],
      schema_string: deltaSchemaString(columns),
    });
    const { table_id: tableId, location: root } = created.body;
    const commitFile = async (readVersion: number, actions: object[]) => {
      const staged = await api.post<{ staged_path: string; staged_version: string }>(
        `/api/v1/delta/tables/${tableId}/commits/stage`,
        { payload: actions.map((a) => JSON.stringify(a)).join('\n') },
      );
      const committed = await api.post<{ version: number }>(`/api/v1/delta/tables/${tableId}/commits`, {
        read_version: readVersion,
        ...staged.body,
        idempotency_key: uuidv7(),
      });
      expect(committed.status).toBe(200);
      return committed.body.version;
    };
    const day1: Row[] = [
      { order_id: 1, customer: 'ada', amount: 10.5, day: '2026-11-21' },
      { order_id: 2, customer: 'bob', amount: 7, day: '2026-11-21' },
    ];
    const day2: Row[] = [{ order_id: 3, customer: 'cy', amount: 1.25, day: '2026-11-22' }];
    const file1 = await writeDataFile(objects, root, columns, day1, { day: '2026-11-21' }, 'f1', 1);
    expect(await commitFile(0, [{ add: file1 }, { commitInfo: { operation: 'WRITE' } }])).toBe(1);
    const file2 = await writeDataFile(objects, root, columns, day2, { day: '2026-11-22' }, 'f2', 2);
    expect(await commitFile(1, [{ add: file2 }])).toBe(2);
    const corrected: Row[] = [{ order_id: 1, customer: 'ada', amount: 11, day: '2026-11-21' }];
    const file3 = await writeDataFile(objects, root, columns, corrected, { day: '2026-11-21' }, 'f3', 3);
    expect(await commitFile(2, [{ remove: { path: file1.path, dataChange: true } }, { add: file3 }])).toBe(3);

    const latest = await loadSnapshot(objects, root, 3);
    expect(latest.metaData).toMatchObject({ id: tableId, partitionColumns: ['day'] });
    expect(latest.files.map((f) => f.path)).toEqual([
      'day=2026-11-21/part-f3.parquet',
      'day=2026-11-22/part-f2.parquet',
    ]);
    const sortRows = (rows: Row[]) => rows.sort((a, b) => Number(a.order_id) - Number(b.order_id));
    expect(sortRows(await readRows(objects, root, latest))).toEqual(sortRows([...corrected, ...day2]));
    const timeTravel = await loadSnapshot(objects, root, 2);
    expect(sortRows(await readRows(objects, root, timeTravel))).toEqual(sortRows([...day1, ...day2]));
    expect(JSON.parse(file1.stats)).toMatchObject({
      numRecords: 2,
      minValues: { order_id: 1 },
      maxValues: { customer: 'bob' },
    });
  });

  it('logs add.path so that decoding it names exactly the object written, for every character', async () => {
    const objects = scopedObjectStore(deps.objects, scope);
    const tableColumns: DeltaColumn[] = [
      { name: 'n', type: 'long' },
      { name: 'hour', type: 'string' },
      { name: 'k', type: 'string' },
    ];
    const created = await api.post<{ table_id: string; location: string }>('/api/v1/delta/tables', {
      name: 'analytics.awkward_partitions',
      location: 'warehouse/awkward',
      partition_columns: ['hour', 'k'],
      schema_string: deltaSchemaString(tableColumns),
    });
    expect(created.status).toBe(201);
    const { table_id: tableId, location: root } = created.body;
    const hour = '2025-01-15T10:00:00.000000Z';
    const values = [':', 'a b', 'a/b', '100%', '%25', 'x=y', 'é 日本', '#tag', 'what?', 'a+b&c', null];
    const adds = [];
    for (const [i, k] of values.entries())
      adds.push(
        await writeDataFile(objects, root, tableColumns, [{ n: i, hour, k }], { hour, k }, `f${i}`, i),
      );
    const staged = await api.post<{ staged_path: string; staged_version: string }>(
      `/api/v1/delta/tables/${tableId}/commits/stage`,
      { payload: adds.map((add) => JSON.stringify({ add })).join('\n') },
    );
    expect(staged.status, JSON.stringify(staged.body)).toBe(200);
    const committed = await api.post<{ version: number }>(`/api/v1/delta/tables/${tableId}/commits`, {
      read_version: 0,
      ...staged.body,
      idempotency_key: uuidv7(),
    });
    expect(committed.status).toBe(200);

    // What a Delta reader does: take add.path from the log, URI-decode it, read that object.
    const log = (await objects.get(logPath(root, 1)))!.bytes.toString('utf8');
    const logged = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).add as { path: string; partitionValues: Record<string, string | null> });
    expect(logged.map((a) => a.partitionValues.k)).toEqual(values);
    for (const add of logged) {
      const decoded = add.path.split('/').map(decodeURIComponent).join('/');
      expect(decoded.split('/'), add.path).toHaveLength(3);
      expect(decoded.startsWith('hour=2025-01-15T10%3A00%3A00.000000Z/k='), decoded).toBe(true);
      const object = await objects.get(`${root}/${decoded}`);
      expect(object, `${add.path} → ${decoded}`).not.toBeNull();
      expect(object!.bytes.subarray(0, 4).toString()).toBe('PAR1');
    }
    expect(logged[0]!.path).toBe('hour=2025-01-15T10%253A00%253A00.000000Z/k=%253A/part-f0.parquet');
    expect(logged.at(-1)!.path).toBe(
      'hour=2025-01-15T10%253A00%253A00.000000Z/k=__HIVE_DEFAULT_PARTITION__/part-f10.parquet',
    );

    const snapshot = await loadSnapshot(objects, root, 1);
    const rows = await readRows(objects, root, snapshot);
    expect(rows.map((r) => r.k).sort()).toEqual([...values].sort());
    expect(new Set(rows.map((r) => r.hour))).toEqual(new Set([hour]));
  });
});
