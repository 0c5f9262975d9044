import { compareUtf8 } from '../core/canonicalJson.ts';
import { sha256Hex } from '../core/hashing.ts';

/**
 * The projection tables (state-and-delta spec B9, camelCase rows): each row's primary key, and the shard
 * it lives in. Run-scoped tables shard by run id, so one run's rows are in one shard per table.
 */
export const TABLES = [
  'runs',
  'tasks',
  'dep_satisfaction',
  'dispatch_outbox',
  'timers',
  'partition_status',
  'run_key_index',
  'run_key_conflicts',
  'idempotency_keys',
  'schedule_definitions',
  'schedule_state',
  'schedule_ticks',
  'sensor_state',
  'sensor_evals',
  'backfills',
  'backfill_chunks',
] as const;

export type TableName = (typeof TABLES)[number];

export type Row = Record<string, unknown> & { rowVersion: string };

export type FoldState = { readonly [T in TableName]: ReadonlyMap<string, Row> };

const SEP = '\u0000';

interface TableSpec {
  key: (row: Row) => string;
  shardBy: (row: Row) => string;
  shards: number;
}

const str = (row: Row, field: string) => String(row[field] ?? '');
const byField = (field: string) => (row: Row) => str(row, field);
const joined =
  (...fields: string[]) =>
  (row: Row) =>
    fields.map((f) => str(row, f)).join(SEP);

export const TABLE_SPECS: Record<TableName, TableSpec> = {
  runs: { key: byField('runId'), shardBy: byField('runId'), shards: 64 },
  tasks: { key: joined('runId', 'taskKey'), shardBy: byField('runId'), shards: 64 },
  dep_satisfaction: {
    key: joined('runId', 'upstreamTaskKey', 'downstreamTaskKey'),
    shardBy: byField('runId'),
    shards: 64,
  },
  dispatch_outbox: { key: byField('dispatchId'), shardBy: byField('runId'), shards: 16 },
  timers: { key: byField('timerId'), shardBy: byField('timerId'), shards: 16 },
  partition_status: { key: joined('assetKey', 'partitionKey'), shardBy: byField('assetKey'), shards: 32 },
  run_key_index: { key: byField('runKey'), shardBy: byField('runKey'), shards: 32 },
  run_key_conflicts: { key: byField('conflictId'), shardBy: byField('runKey'), shards: 4 },
  idempotency_keys: { key: byField('idempotencyKey'), shardBy: byField('idempotencyKey'), shards: 64 },
  schedule_definitions: { key: byField('scheduleId'), shardBy: byField('scheduleId'), shards: 1 },
  schedule_state: { key: byField('scheduleId'), shardBy: byField('scheduleId'), shards: 1 },
  schedule_ticks: { key: byField('tickId'), shardBy: byField('scheduleId'), shards: 16 },
  sensor_state: { key: byField('sensorId'), shardBy: byField('sensorId'), shards: 1 },
  sensor_evals: { key: byField('evalId'), shardBy: byField('sensorId'), shards: 16 },
  backfills: { key: byField('backfillId'), shardBy: byField('backfillId'), shards: 4 },
  backfill_chunks: { key: byField('chunkId'), shardBy: byField('backfillId'), shards: 16 },
};

export const rowKey = (table: TableName, row: Row) => TABLE_SPECS[table].key(row);

export const keyOf = (...parts: string[]) => parts.join(SEP);

/** Shard ids are fixed-width hex so they sort; the same input always lands in the same shard. */
export function shardOf(table: TableName, shardKey: string): string {
  const { shards } = TABLE_SPECS[table];
  const bucket = shards === 1 ? 0 : Number.parseInt(sha256Hex(shardKey).slice(0, 8), 16) % shards;
  return bucket.toString(16).padStart(2, '0');
}

export const shardOfRow = (table: TableName, row: Row) => shardOf(table, TABLE_SPECS[table].shardBy(row));

export function emptyState(): FoldState {
  return Object.fromEntries(TABLES.map((t) => [t, new Map<string, Row>()])) as unknown as FoldState;
}

/** Rows of a table in primary-key order (UTF-8 byte order), the order every shard file uses. */
export function sortedRows(rows: Iterable<Row>, table: TableName): Row[] {
  return [...rows].sort((a, b) => compareUtf8(rowKey(table, a), rowKey(table, b)));
}
