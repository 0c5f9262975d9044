import type { ObjectStore } from '../../adapters/objectStore.ts';
import {
  type Manifest,
  POINTER_PATH,
  type Pointer,
  ProjectionStore,
  type ShardArtifact,
} from './projectionStore.ts';
import {
  type Row,
  shardHolds,
  shardOfRow,
  sortedRows,
  TABLE_SPECS,
  type TableName,
} from './projectionTables.ts';

/** Shards are immutable and content-addressed, so a process can keep them as long as memory allows. */
const shardCache = new Map<string, Row[]>();
const manifestCache = new Map<string, Manifest>();
const recentSnapshots = new Map<string, { at: number; snapshot: ProjectionSnapshot }>();
const MAX_CACHED_SHARDS = 4000;

function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number) {
  if (map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

/** What the API reads: one published manifest and the shards a query needs. Never the ledger, never a listing. */
export class ProjectionSnapshot {
  constructor(
    private readonly store: ProjectionStore,
    readonly pointer: Pointer | null,
    readonly manifest: Manifest | null,
  ) {}

  private async load(artifact: ShardArtifact): Promise<Row[]> {
    const cached = shardCache.get(artifact.path);
    if (cached) return cached;
    const rows = await this.store.shard(artifact);
    remember(shardCache, artifact.path, rows, MAX_CACHED_SHARDS);
    return rows;
  }

  /** Every row of a table, in key order within each shard. */
  async rows(table: TableName): Promise<Row[]> {
    const artifacts = Object.entries(this.manifest?.tables[table] ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    const rows = (await Promise.all(artifacts.map(([, artifact]) => this.load(artifact)))).flat();
    return TABLE_SPECS[table].slices ? sortedRows(rows, table) : rows;
  }

  /** The rows of the shard (every slice of it) that holds `shardKey` (a run id for run-scoped tables, an asset key…). */
  async shardRows(table: TableName, shardKey: string): Promise<Row[]> {
    const artifacts = Object.entries(this.manifest?.tables[table] ?? {}).filter(([shard]) =>
      shardHolds(table, shard, shardKey),
    );
    const slices = await Promise.all(artifacts.map(([, artifact]) => this.load(artifact)));
    // Slices each hold a key range's rows in key order; together they read as one shard would.
    return slices.length === 1 ? slices[0]! : sortedRows(slices.flat(), table);
  }

  /** The rows of the one shard or slice where `row` (its key fields suffice) would live. */
  async rowsBeside(table: TableName, row: Record<string, unknown>): Promise<Row[]> {
    const artifact = this.manifest?.tables[table]?.[shardOfRow(table, row as Row)];
    return artifact ? this.load(artifact) : [];
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
   * The current published state: reads the pointer, and the manifest once per path. With `maxAgeMs`, a
   * snapshot read that recently in this process is reused: for callers that already tolerate the
   * publish cadence's lag (worker callbacks judge anything newer by its token).
   */
  async snapshot(maxAgeMs = 0): Promise<ProjectionSnapshot> {
    const recent = recentSnapshots.get(this.cachePrefix);
    if (maxAgeMs > 0 && recent && performance.now() - recent.at <= maxAgeMs) return recent.snapshot;
    const snapshot = await this.readSnapshot();
    remember(recentSnapshots, this.cachePrefix, { at: performance.now(), snapshot }, 1000);
    return snapshot;
  }

  private async readSnapshot(): Promise<ProjectionSnapshot> {
    const stored = await this.objects.get(POINTER_PATH);
    if (!stored) return new ProjectionSnapshot(this.store, null, null);
    const pointer = JSON.parse(stored.bytes.toString('utf8')) as Pointer;
    const key = `${this.cachePrefix}:${pointer.manifest_path}`;
    let manifest = manifestCache.get(key);
    if (!manifest) {
      manifest = await this.store.manifest(pointer.manifest_path);
      remember(manifestCache, key, manifest, 1000);
    }
    return new ProjectionSnapshot(this.store, pointer, manifest);
  }
}
