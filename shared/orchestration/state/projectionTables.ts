import { decodeTime, isValid } from 'ulid';
import { compareUtf8 } from '../../core/canonicalJson.ts';
import { sha256Hex } from '../../core/hashing.ts';

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
  /** The value that decides a row's shard; readers pass the same value to find it (a run id…). */
  shardKey: (row: Row) => string;
  shardFor: (shardKey: string) => string;
  /**
   * Splits each shard further into 32 slices by a hash of this value (`{shard}.{hh}`; a run's rows use
   * as many of them as its size calls for, `sliceOfRow`), so one task's change rewrites a bounded slice
   * of a large run instead of every row of it. Readers of a shard key read every slice.
   * `tag` prefixes the slice's number (`{shard}.{tag}{hh}`): a table sliced by another value than
   * before gets other slice names, so a compactor sees the published layout is older and rewrites it.
   * Rows placed by their run's slice count (`runSlices`) add `r` (`{shard}.{tag}r{hh}`) for the same
   * reason: a compactor of an earlier version, which would look for them by hash alone, rewrites the
   * table instead of keeping a stale copy.
   */
  slices?: { of: (row: Row) => string; tag?: string };
  /**
   * Rows still in progress (a run or a backfill not yet final). A shard's artifact counts them
   * (`open_rows`), so a reader of only those rows (the sweeper and the backfill controller, each
   * automation tick) skips the shards of finished history instead of reading every shard ever written.
   */
  open?: (row: Row) => boolean;
  /**
   * The value a listing of the table pages by, newest first (a run's `triggeredAt`). A shard's artifact
   * records the lowest and highest among its rows (`paged_range`), so a page reads the shards that can
   * hold its rows rather than the table's whole history.
   */
  pagedBy?: (row: Row) => string;
}

const str = (row: Row, field: string) => String(row[field] ?? '');
const byField = (field: string) => (row: Row) => str(row, field);
const joined =
  (...fields: string[]) =>
  (row: Row) =>
    fields.map((f) => str(row, f)).join(SEP);

const hashBucket = (value: string, buckets: number) =>
  buckets === 1 ? 0 : Number.parseInt(sha256Hex(value).slice(0, 8), 16) % buckets;

/** A fixed number of hash shards, named with fixed-width hex so they sort. */
const hashed = (buckets: number) => (shardKey: string) =>
  `h${hashBucket(shardKey, buckets).toString(16).padStart(2, '0')}`;

/**
 * Time-local shards for ids that carry their creation time (ULIDs): a UTC time bucket plus a small fan-out.
 * New events touch only recent shards, so a compaction's cost follows the new events, not the history
 * (spec README decision 7). Ids without a time (keyed run ids) fall back to hash shards.
 */
const byTime = (hoursPerBucket: number, fanOut: number, fallback: number) => (id: string) => {
  if (!isValid(id)) return hashed(fallback)(id);
  const bucketStart = Math.floor(decodeTime(id) / (hoursPerBucket * 3_600_000)) * hoursPerBucket * 3_600_000;
  const stamp = new Date(bucketStart).toISOString().slice(0, 13).replace(/[-T]/g, '');
  return `t${stamp}-${hashBucket(id, fanOut)}`;
};

/**
 * The start and end (epoch ms) of the time bucket a `byTime` shard id names (`t{YYYYMMDDHH}-{n}`),
 * for buckets of `hoursPerBucket`; null for a hash shard (an id without a time).
 */
export function timeBucketOfShard(
  shard: string,
  hoursPerBucket: number,
): { startMs: number; endMs: number } | null {
  const match = /^t(\d{4})(\d{2})(\d{2})(\d{2})-\d+$/.exec(shard);
  if (!match) return null;
  const [, year, month, day, hour] = match;
  const startMs = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour));
  return { startMs, endMs: startMs + hoursPerBucket * 3_600_000 };
}

/**
 * Idempotency keys are sharded by the time of their event, so old ones leave by whole shards: one shard
 * per `IDEMPOTENCY_KEY_BUCKET_MINUTES` of an hour (`t{YYYYMMDDHH}-{n}`, the n-th quarter of the hour),
 * with no hash fan-out. Nearly every event records a key, so a publish rewrites the current quarter's
 * shard whole: a quarter of what an hour's shard grew to by its end (90 MB at a sustained 100
 * events/s). Narrower shards would give a cold start more objects to load: 30 days of them are kept.
 * Retention reads a shard's hour from its id.
 */
export const IDEMPOTENCY_KEY_BUCKET_HOURS = 1;
export const IDEMPOTENCY_KEY_BUCKET_MINUTES = 15;

/** Shards of `minutes` of event time within each UTC hour, for ids that carry their time (ULIDs). */
const byMinutes = (minutes: number, fallback: number) => (id: string) => {
  if (!isValid(id)) return hashed(fallback)(id);
  const ms = decodeTime(id);
  const hourStart = Math.floor(ms / 3_600_000) * 3_600_000;
  const stamp = new Date(hourStart).toISOString().slice(0, 13).replace(/[-T]/g, '');
  return `t${stamp}-${Math.floor((ms - hourStart) / (minutes * 60_000))}`;
};

const RUN_SHARDS = byTime(24, 8, 64);
/** Slices of the per-run tables: a 1 000-task run's task change rewrites about 1/32 of its rows. */
const RUN_SLICES = 32;
/** Tasks per slice that a run of fewer than `RUN_SLICES²` tasks aims at. */
const TASKS_PER_SLICE = 32;

/**
 * How many slices a run of `tasks` tasks spreads its task, edge and outbox rows over: one per 32 tasks,
 * at most 32. A small run's change then rewrites one or a few slices per publish instead of one per
 * task (a 10-task run wrote about 25 slice objects per publish when every run used all 32), and a slice
 * still gets at most about 32 of a run's tasks until the run passes 1 024 tasks. Fixed when the run is
 * planned (its run row's `taskSlices`), since readers find rows by it.
 */
export const sliceCountForRun = (tasks: number) =>
  Math.min(RUN_SLICES, Math.max(1, Math.ceil(tasks / TASKS_PER_SLICE)));

/**
 * The slice (0…31) of a row of a table sliced per run. A row that carries `runSlices` (stamped from
 * its run's `taskSlices` when first written) lies in one of its run's `runSlices` consecutive slices,
 * starting at a slice its run id picks, so the small runs of one shard still spread over all 32. A row
 * without it was written before slice counts followed the run's size: all 32, by its hash alone.
 */
function sliceOfRow(spec: NonNullable<TableSpec['slices']>, shardKey: string, row: Row): number {
  const runSlices = row.runSlices;
  if (typeof runSlices !== 'number') return hashBucket(spec.of(row), RUN_SLICES);
  return (hashBucket(shardKey, RUN_SLICES) + hashBucket(spec.of(row), runSlices)) % RUN_SLICES;
}

/** Final run states (stored and public alike): a run in any other is in progress. */
export const TERMINAL_RUN_STATES: ReadonlySet<unknown> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
/** Final backfill states (`CANCELLED`: cancelled before CANCELING existed). */
const TERMINAL_BACKFILL_STATES: ReadonlySet<unknown> = new Set([
  'SUCCEEDED',
  'FAILED',
  'CANCELED',
  'CANCELLED',
]);

export const TABLE_SPECS: Record<TableName, TableSpec> = {
  runs: {
    key: byField('runId'),
    shardKey: byField('runId'),
    shardFor: RUN_SHARDS,
    open: (row) => !TERMINAL_RUN_STATES.has(row.state),
    pagedBy: byField('triggeredAt'),
  },
  tasks: {
    key: joined('runId', 'taskKey'),
    shardKey: byField('runId'),
    shardFor: RUN_SHARDS,
    slices: { of: joined('runId', 'taskKey') },
  },
  // Sliced by upstream: a task's completion changes all its outgoing edges at once, so it rewrites one
  // slice; and a reader that knows a run's task keys knows every slice holding its edges.
  dep_satisfaction: {
    key: joined('runId', 'upstreamTaskKey', 'downstreamTaskKey'),
    shardKey: byField('runId'),
    shardFor: RUN_SHARDS,
    slices: { of: joined('runId', 'upstreamTaskKey'), tag: 'u' },
  },
  dispatch_outbox: {
    key: byField('dispatchId'),
    shardKey: byField('runId'),
    shardFor: RUN_SHARDS,
    slices: { of: byField('dispatchId') },
  },
  timers: { key: byField('timerId'), shardKey: byField('timerId'), shardFor: hashed(16) },
  partition_status: {
    key: joined('assetKey', 'partitionKey'),
    shardKey: byField('assetKey'),
    shardFor: hashed(32),
  },
  // Only the fold looks run keys up, in its warm state, never a reader by shard: so a key lies in the
  // time shard of the event that recorded it (its row never changes), and a new run's key rewrites one
  // of the day's shards, not a shard of every key ever recorded.
  run_key_index: { key: byField('runKey'), shardKey: byField('rowVersion'), shardFor: RUN_SHARDS },
  run_key_conflicts: { key: byField('conflictId'), shardKey: byField('runKey'), shardFor: hashed(4) },
  idempotency_keys: {
    key: byField('idempotencyKey'),
    shardKey: byField('eventId'),
    shardFor: byMinutes(IDEMPOTENCY_KEY_BUCKET_MINUTES, 16),
  },
  schedule_definitions: { key: byField('scheduleId'), shardKey: byField('scheduleId'), shardFor: hashed(1) },
  schedule_state: { key: byField('scheduleId'), shardKey: byField('scheduleId'), shardFor: hashed(1) },
  schedule_ticks: { key: byField('tickId'), shardKey: byField('scheduleId'), shardFor: hashed(16) },
  sensor_state: { key: byField('sensorId'), shardKey: byField('sensorId'), shardFor: hashed(1) },
  sensor_evals: { key: byField('evalId'), shardKey: byField('sensorId'), shardFor: hashed(16) },
  backfills: {
    key: byField('backfillId'),
    shardKey: byField('backfillId'),
    shardFor: hashed(4),
    open: (row) => !TERMINAL_BACKFILL_STATES.has(row.state),
  },
  backfill_chunks: { key: byField('chunkId'), shardKey: byField('backfillId'), shardFor: hashed(16) },
};

export const rowKey = (table: TableName, row: Row) => TABLE_SPECS[table].key(row);

export const keyOf = (...parts: string[]) => parts.join(SEP);

/** The shard that holds rows whose shard key is `shardKey`; the same input always lands in the same shard. */
export const shardOf = (table: TableName, shardKey: string) => TABLE_SPECS[table].shardFor(shardKey);

/** The shard (and slice, for sliced tables) a row lives in. */
export function shardOfRow(table: TableName, row: Row): string {
  const spec = TABLE_SPECS[table];
  const shardKey = spec.shardKey(row);
  const shard = shardOf(table, shardKey);
  if (!spec.slices) return shard;
  const slice = sliceOfRow(spec.slices, shardKey, row).toString(16).padStart(2, '0');
  const bySize = typeof row.runSlices === 'number' ? 'r' : '';
  return `${shard}.${spec.slices.tag ?? ''}${bySize}${slice}`;
}

export function emptyState(): FoldState {
  return Object.fromEntries(TABLES.map((t) => [t, new Map<string, Row>()])) as unknown as FoldState;
}

/** Rows of a table in primary-key order (UTF-8 byte order), the order every shard file uses. */
export function sortedRows(rows: Iterable<Row>, table: TableName): Row[] {
  return [...rows].sort((a, b) => compareUtf8(rowKey(table, a), rowKey(table, b)));
}
