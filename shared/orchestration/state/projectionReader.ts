import type { ObjectStore, StoredObject } from '../../adapters/objectStore.ts';
import {
  type Manifest,
  POINTER_PATH,
  type Pointer,
  ProjectionStore,
  type ShardArtifact,
} from './projectionStore.ts';
import { rememberBounded } from '../../core/boundedMap.ts';
import { ByteBudgetCache } from '../../core/byteBudgetCache.ts';
import { archiveOfShard, listedShards, shardOfId, tableLine } from './shardArchives.ts';
import {
  type Row,
  rowKey,
  shardOf,
  shardOfRow,
  sortedRows,
  TABLE_SPECS,
  type TableName,
} from './projectionTables.ts';

/**
 * A shard's rows, and the same rows by shard key (a run id…), so a read of one run does not scan the
 * whole shard. Shards are immutable and content-addressed, so a process keeps the ones it used last,
 * up to `SHARD_CACHE_BYTES` of shard files (their parsed rows took about as much heap, measured on
 * planned tasks); concurrent readers of a shard not yet cached share one read of it.
 */
interface LoadedShard {
  rows: Row[];
  byShardKey: Map<string, Row[]>;
}
const SHARD_CACHE_BYTES = 32 * 1024 * 1024;
/** Shards a page of the newest rows reads in its first round: a day's run shards (a fan-out of 8). */
const NEWEST_SHARDS_READ_AT_ONCE = 8;
const shardCache = new ByteBudgetCache<LoadedShard>(SHARD_CACHE_BYTES);
/**
 * Each workspace's newest manifest read, by its pointer's generation. Only the newest: every publish
 * makes a new one, and snapshots keep their own. Concurrent readers of a new manifest share one read.
 */
const currentManifests = new Map<string, { generation: bigint; path: string; manifest: Promise<Manifest> }>();
const recentSnapshots = new Map<string, { at: number; snapshot: ProjectionSnapshot }>();
const pointerReads = new Map<string, PointerReads>();

/** What the API reads: one published manifest and the shards a query needs. Never the ledger, never a listing. */
export class ProjectionSnapshot {
  constructor(
    private readonly store: ProjectionStore,
    readonly pointer: Pointer | null,
    readonly manifest: Manifest | null,
  ) {}

  private load(table: TableName, artifact: ShardArtifact): Promise<LoadedShard> {
    return shardCache.get(artifact.path, async () => {
      const rows = await this.store.shard(artifact);
      return { value: { rows, byShardKey: groupBy(table, rows) }, bytes: artifact.byte_size };
    });
  }

  /**
   * Where a shard with this id is listed: in its month's archive when it is before the manifest's
   * archive line (shardArchives.ts; one read, then cached) and the manifest does not list it itself
   * (changed since its archive was written), else in the manifest.
   */
  private async listing(table: TableName, shard: string): Promise<Record<string, ShardArtifact>> {
    const own = this.manifest?.tables[table] ?? {};
    const month = archiveOfShard(shard, tableLine(this.manifest, table));
    const ref = month === null ? undefined : this.manifest?.archives?.[table]?.[month];
    return ref && !listedShards(own).has(shardOfId(shard)) ? this.store.archive(ref) : own;
  }

  /** Every row of a table, in key order within each shard. */
  async rows(table: TableName): Promise<Row[]> {
    const listed = this.manifest ? await this.store.tableShards(this.manifest, table) : {};
    const artifacts = Object.entries(listed).sort(([a], [b]) => (a < b ? -1 : 1));
    const rows = (await Promise.all(artifacts.map(([, artifact]) => this.load(table, artifact)))).flatMap(
      (shard) => shard.rows,
    );
    return TABLE_SPECS[table].slices ? sortedRows(rows, table) : rows;
  }

  /**
   * The rows still in progress of a table that says which are (`TableSpec.open`: runs and backfills
   * not yet final), in key order within each shard. Reads only the shards whose artifact counts some,
   * or counts none because it was written before artifacts counted them: the cost follows what is in
   * progress, not the whole history.
   */
  async openRows(table: TableName): Promise<Row[]> {
    const open = TABLE_SPECS[table].open;
    if (!open) throw new Error(`table ${table} does not say which of its rows are open`);
    const listed = this.manifest ? await this.store.tableShards(this.manifest, table) : {};
    const artifacts = Object.entries(listed)
      .filter(([, artifact]) => artifact.open_rows !== 0)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    const shards = await Promise.all(artifacts.map(([, artifact]) => this.load(table, artifact)));
    return shards.flatMap((shard) => shard.rows.filter(open));
  }

  /**
   * Rows of `table` that `keep` takes, read from the shards with the newest values of what the table's
   * listings page by (`TableSpec.pagedBy`: a run's `triggeredAt`) first, until they surely include the
   * `count` rows `keep` takes with the highest such values (whatever the tie-break): the next shard's
   * highest value is below the count-th highest read. Shards are read in rounds of 8, then twice as
   * many each round: a filter that matches few rows reads as far back as it must. Shards with every
   * value above `atMost` (a page's cursor) are skipped; shards whose artifact records no range (an
   * earlier release's) are always read. Unordered; a page of the newest runs reads the newest shards,
   * not the table's whole history.
   */
  async newestRows(
    table: TableName,
    count: number,
    keep: (row: Row) => boolean,
    atMost?: string,
  ): Promise<Row[]> {
    const pagedBy = TABLE_SPECS[table].pagedBy;
    if (!pagedBy) throw new Error(`table ${table} does not say what its listings page by`);
    const listed = this.manifest ? await this.store.tableShards(this.manifest, table) : {};
    const highest = (artifact: ShardArtifact) => artifact.paged_range?.[1] ?? '\uffff';
    const artifacts = Object.values(listed)
      .filter((artifact) => atMost === undefined || (artifact.paged_range?.[0] ?? '') <= atMost)
      .sort((a, b) => (highest(a) > highest(b) ? -1 : highest(a) < highest(b) ? 1 : 0));
    const kept: Row[] = [];
    // The first round takes every shard without a range (they sort first and can end nothing) and the
    // 8 newest; each round after it reads twice as many, so a page whose filter matches few runs
    // still reads the history in a few rounds.
    let size = artifacts.filter((artifact) => !artifact.paged_range).length + NEWEST_SHARDS_READ_AT_ONCE;
    for (let next = 0; next < artifacts.length; next += size, size *= 2) {
      const shards = await Promise.all(
        artifacts.slice(next, next + size).map((artifact) => this.load(table, artifact)),
      );
      for (const shard of shards) for (const row of shard.rows) if (keep(row)) kept.push(row);
      const following = artifacts[next + size];
      if (!following?.paged_range || kept.length < count) continue;
      const countth = kept.map(pagedBy).sort().at(-count)!;
      if (countth > following.paged_range[1]) break;
    }
    return kept;
  }

  /**
   * The rows whose shard key is `shardKey` (a run id for run-scoped tables, a schedule id…), in key
   * order: from the shard that holds them, every slice of it.
   */
  async rowsOf(table: TableName, shardKey: string): Promise<Row[]> {
    const shard = shardOf(table, shardKey);
    const artifacts = Object.entries(await this.listing(table, shard)).filter(
      ([id]) => id === shard || id.startsWith(`${shard}.`),
    );
    const slices = await Promise.all(artifacts.map(([, artifact]) => this.load(table, artifact)));
    const rows = slices.flatMap((slice) => slice.byShardKey.get(shardKey) ?? []);
    // Slices each hold a key range's rows in key order; together they read as one shard would.
    return slices.length === 1 ? rows : sortedRows(rows, table);
  }

  /**
   * The rows of `table` with these keys (key fields, plus `runSlices` from the run's `taskSlices` for a
   * per-run table), reading only the slices they live in:
   * a small run's tasks from a few slices of its shard rather than every slice.
   */
  async rowsWithKeys(table: TableName, keys: Array<Record<string, unknown>>): Promise<Row[]> {
    const wanted = new Set(keys.map((key) => rowKey(table, key as Row)));
    const shardKeys = new Set(keys.map((key) => TABLE_SPECS[table].shardKey(key as Row)));
    const slices = await Promise.all(
      [...(await this.slicesOf(table, keys))].map((artifact) => this.load(table, artifact)),
    );
    const rows = slices.flatMap((slice) =>
      [...shardKeys]
        .flatMap((shardKey) => slice.byShardKey.get(shardKey) ?? [])
        .filter((row) => wanted.has(rowKey(table, row))),
    );
    return sortedRows(rows, table);
  }

  /**
   * Every row of the keys' shard keys in the slices the keys fall in; a key needs only the fields its
   * table's shard key and slice are computed from (for `dep_satisfaction`: runId, upstreamTaskKey, and
   * runSlices, the run's `taskSlices`, when the run has one; without it the key names another slice).
   */
  async rowsInSlicesOf(table: TableName, keys: Array<Record<string, unknown>>): Promise<Row[]> {
    const shardKeys = new Set(keys.map((key) => TABLE_SPECS[table].shardKey(key as Row)));
    const slices = await Promise.all(
      [...(await this.slicesOf(table, keys))].map((artifact) => this.load(table, artifact)),
    );
    const rows = slices.flatMap((slice) => [...shardKeys].flatMap((key) => slice.byShardKey.get(key) ?? []));
    return sortedRows(rows, table);
  }

  /**
   * The slices the keys fall in. A manifest published under an older slicing of the table names none
   * of them (compactor.ts `warm()` renames slices only on the next publish, which an idle workspace may
   * never make): for a key whose slice is absent, the shard's slices of another layout are read too.
   */
  private async slicesOf(
    table: TableName,
    keys: Array<Record<string, unknown>>,
  ): Promise<Set<ShardArtifact>> {
    const artifacts = new Set<ShardArtifact>();
    // Keys in several archived months read their archives at once.
    const ids = keys.map((key) => shardOfRow(table, key as Row));
    const listings = await Promise.all(ids.map((id) => this.listing(table, id)));
    keys.forEach((key, i) => {
      const published = listings[i]!;
      const artifact = published[ids[i]!];
      if (artifact) artifacts.add(artifact);
      else if (this.manifest) {
        const shard = shardOf(table, TABLE_SPECS[table].shardKey(key as Row));
        for (const slice of olderLayoutSlices(published, table).get(shard) ?? []) artifacts.add(slice);
      }
    });
    return artifacts;
  }

  /**
   * The rows of the one shard or slice where `row` would live (its key fields suffice, with
   * `runSlices` for a per-run table whose run has `taskSlices`).
   */
  async rowsBeside(table: TableName, row: Record<string, unknown>): Promise<Row[]> {
    const id = shardOfRow(table, row as Row);
    const artifact = (await this.listing(table, id))[id];
    return artifact ? (await this.load(table, artifact)).rows : [];
  }
}

/**
 * A listing's slices of `table` (the manifest's own, or an archive's) whose names the table's current
 * layout does not give, by shard: what an older slicing published. Worked out once per listing (a
 * reader's keys often fall in slices that simply have no rows, and scanning the table's whole listing
 * for each would cost every read).
 */
function olderLayoutSlices(
  listing: Record<string, ShardArtifact>,
  table: TableName,
): Map<string, ShardArtifact[]> {
  let byShard = olderLayouts.get(listing);
  if (byShard) return byShard;
  byShard = new Map();
  const slices = TABLE_SPECS[table].slices;
  const current = slices ? new RegExp(`\\.${slices.tag ?? ''}r?[0-9a-f]{2}$`) : null;
  for (const [id, artifact] of Object.entries(listing)) {
    const dot = id.indexOf('.');
    const shard = dot < 0 ? id : id.slice(0, dot);
    const inCurrentLayout = current ? dot >= 0 && current.test(id) : dot < 0;
    if (inCurrentLayout) continue;
    const older = byShard.get(shard);
    if (older) older.push(artifact);
    else byShard.set(shard, [artifact]);
  }
  olderLayouts.set(listing, byShard);
  return byShard;
}

const olderLayouts = new WeakMap<Record<string, ShardArtifact>, Map<string, ShardArtifact[]>>();

function groupBy(table: TableName, rows: Row[]): Map<string, Row[]> {
  const byShardKey = new Map<string, Row[]>();
  const shardKeyOf = TABLE_SPECS[table].shardKey;
  for (const row of rows) {
    const key = shardKeyOf(row);
    const group = byShardKey.get(key);
    if (group) group.push(row);
    else byShardKey.set(key, [row]);
  }
  return byShardKey;
}

/**
 * Reads of one workspace's pointer, coalesced: a caller gets the result of a read that started after
 * it asked (so it sees every publish that finished before it asked: read-your-writes), and callers
 * that ask while a read is in flight share the one read that follows it. Under a hundred reads a
 * second, that is a few pointer reads a second instead of one per request.
 */
class PointerReads {
  private inFlight: Promise<StoredObject | null> | null = null;
  private queued: Promise<StoredObject | null> | null = null;

  constructor(private readonly objects: ObjectStore) {}

  next(): Promise<StoredObject | null> {
    if (!this.inFlight) return (this.inFlight = this.read());
    this.queued ??= this.inFlight.then(
      () => this.promote(),
      () => this.promote(),
    );
    return this.queued;
  }

  private promote(): Promise<StoredObject | null> {
    this.queued = null;
    return (this.inFlight = this.read());
  }

  private read(): Promise<StoredObject | null> {
    const read = this.objects.get(POINTER_PATH);
    const settle = () => {
      if (this.inFlight === read) this.inFlight = null;
    };
    read.then(settle, settle);
    return read;
  }
}

export class ProjectionReader {
  private readonly store: ProjectionStore;

  constructor(
    private readonly objects: ObjectStore,
    private readonly cachePrefix: string,
  ) {
    this.store = new ProjectionStore(objects);
  }

  /**
   * The current published state: reads the pointer, and the manifest it names once per new pointer.
   * With `maxAgeMs`, a snapshot read that recently in this process is reused: for callers that already
   * tolerate the publish cadence's lag (worker callbacks judge anything newer by its token).
   */
  async snapshot(maxAgeMs = 0): Promise<ProjectionSnapshot> {
    const recent = recentSnapshots.get(this.cachePrefix);
    if (maxAgeMs > 0 && recent && performance.now() - recent.at <= maxAgeMs) return recent.snapshot;
    const snapshot = await this.readSnapshot();
    rememberBounded(recentSnapshots, this.cachePrefix, { at: performance.now(), snapshot }, 1000);
    return snapshot;
  }

  private async readSnapshot(): Promise<ProjectionSnapshot> {
    let reads = pointerReads.get(this.cachePrefix);
    if (!reads)
      rememberBounded(pointerReads, this.cachePrefix, (reads = new PointerReads(this.objects)), 1000);
    const stored = await reads.next();
    if (!stored) return new ProjectionSnapshot(this.store, null, null);
    const pointer = JSON.parse(stored.bytes.toString('utf8')) as Pointer;
    const generation = /^\d+$/.test(stored.generation) ? BigInt(stored.generation) : 0n;
    let current = currentManifests.get(this.cachePrefix);
    if (current?.path !== pointer.manifest_path) {
      const read = this.store.manifest(pointer.manifest_path);
      // A read of an older pointer that ends after a newer one's does not take its place.
      if (!current || current.generation < generation) {
        current = { generation, path: pointer.manifest_path, manifest: read };
        rememberBounded(currentManifests, this.cachePrefix, current, 1000);
        read.catch(() => {
          if (currentManifests.get(this.cachePrefix) === current) currentManifests.delete(this.cachePrefix);
        });
      }
      return new ProjectionSnapshot(this.store, pointer, await read);
    }
    return new ProjectionSnapshot(this.store, pointer, await current.manifest);
  }
}
