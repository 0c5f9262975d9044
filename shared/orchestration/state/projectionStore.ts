import type { ObjectStore } from '../../adapters/objectStore.ts';
import { ByteBudgetCache } from '../../core/byteBudgetCache.ts';
import { canonicalJson } from '../../core/canonicalJson.ts';
import { mapLimit } from '../../core/mapLimit.ts';
import { sha256Hex } from '../../core/hashing.ts';
import {
  type FoldState,
  type Row,
  shardOfRow,
  sortedRows,
  TABLE_SPECS,
  TABLES,
  type TableName,
  emptyState,
  rowKey,
} from './projectionTables.ts';
import { pointerMoveInterval, pointerMoves } from '../../observability/metrics.ts';
import { mergeListing } from './shardArchives.ts';

/** Scope-relative paths of the state store (state-and-delta spec B2). */
export const POINTER_PATH = 'state/orchestration/manifest.pointer.json';
export const manifestPath = (id: number) =>
  `state/orchestration/manifests/${String(id).padStart(20, '0')}.json`;
export const REBUILDS_PREFIX = 'state/orchestration/rebuilds/';

/**
 * How a manifest's own listing and its archives combine (shardArchives.ts): 2 since the manifest lists
 * shards changed after their archive was written, superseding the archive's entries; 3 since tables
 * may have an archive line of their own, by the hour (`archived_before_by_table`).
 */
export const LISTING_VERSION = 3;

/**
 * Why this release must not compact on `manifest`, or null when it may: the spec's `schema_version` 2
 * (state spec B8: "`schema_version > 2` ⇒ refuse") and a `listing_version` it knows. A compactor of an
 * earlier release would fold stale rows into the archives of a listing it does not understand, for good.
 */
export function unknownManifestVersion(manifest: Manifest): string | null {
  if (manifest.schema_version <= 2 && (manifest.listing_version ?? 1) <= LISTING_VERSION) return null;
  return `the published manifest ${manifest.manifest_id} has schema version ${manifest.schema_version} and listing version ${manifest.listing_version ?? 1}, which this release does not know: roll forward, or rebuild from the ledger`;
}

/** The projection file format: fixed, versioned; rows are canonical JSON, one per line, in key order. */
export const PROJECTION_FORMAT = 'arco.orchestration.projections/ndjson-v1';

export interface ShardArtifact {
  path: string;
  checksum_sha256: string;
  byte_size: number;
  rows: number;
  /**
   * How many of the rows are still in progress, for a table that says which are (`TableSpec.open`:
   * runs and backfills not yet final). Absent for other tables and from shards written before
   * releases that counted them: a reader of open rows then reads the shard.
   */
  open_rows?: number;
  /**
   * The lowest and highest value among the rows of what the table's listings page by
   * (`TableSpec.pagedBy`: a run's `triggeredAt`). Absent for other tables and from shards written
   * before releases that recorded it: a page then reads the shard.
   */
  paged_range?: [string, string];
}

/** The lowest and the highest of `values` (at least one), in string order. */
function rangeOf(values: string[]): [string, string] {
  let [lowest, highest] = [values[0]!, values[0]!];
  for (const value of values) {
    if (value < lowest) lowest = value;
    if (value > highest) highest = value;
  }
  return [lowest, highest];
}

/**
 * True when `artifact` lacks a summary of its rows that this release writes for `table` (`open_rows`,
 * `paged_range`): an earlier release wrote it, and readers that rely on the summary must read it.
 */
export function lacksRowSummaries(table: TableName, artifact: ShardArtifact): boolean {
  const spec = TABLE_SPECS[table];
  return (
    (spec.open !== undefined && artifact.open_rows === undefined) ||
    (spec.pagedBy !== undefined && artifact.paged_range === undefined)
  );
}

/**
 * One table's archived shards of one UTC month, listed in an object of their own (shardArchives.ts) so
 * the manifest every publish rewrites does not grow with history. The object at `path` is canonical JSON
 * `{table, month, shards: {shardId: ShardArtifact}}`, content-addressed and create-only; `shards` and
 * `rows` count what it lists.
 */
export interface ArchiveRef {
  path: string;
  checksum_sha256: string;
  shards: number;
  rows: number;
}

export interface Watermarks {
  last_committed_event_id?: string;
  last_visible_event_id?: string;
  events_processed_through?: string;
  last_processed_file?: string;
  last_processed_at: string;
}

export interface Manifest {
  manifest_id: string;
  epoch: number;
  previous_manifest_path?: string;
  schema_version: 2;
  projection_format: string;
  revision_ulid: string;
  published_at: string;
  watermarks: Watermarks;
  /**
   * table → shard id → artifact; shards without rows are absent, and so are the shards of days before
   * `archived_before`, which `archives` lists, but those changed since their archive was written
   * (`listing_version` 2: this listing of a shard supersedes its archive's).
   */
  tables: Record<TableName, Record<string, ShardArtifact>>;
  /**
   * How `tables` and `archives` combine (absent: 1, where a shard before the line is only in its
   * archive; 2: a shard the manifest lists itself supersedes its archive's entries; 3: tables may have
   * an hour line, `archived_before_by_table`). A compactor refuses a version it does not know.
   */
  listing_version?: number;
  /** table → UTC month (`YYYYMM`) → the archive listing its shards of that month before the line. */
  archives?: Partial<Record<TableName, Record<string, ArchiveRef>>>;
  /**
   * Shards of time buckets on days before this one (`YYYYMMDD`) are listed in `archives`, not `tables`.
   * Follows the newest event folded, never the wall clock, and never moves back.
   */
  archived_before?: string;
  /**
   * The archive line (`YYYYMMDDHH`) of tables drawn by the hour (idempotency keys): their shards of
   * hours before it are in `archives`. Since `listing_version` 3.
   */
  archived_before_by_table?: Partial<Record<TableName, string>>;
  publication_witness?: { events: Array<{ path: string; checksum_sha256: string }> };
}

export interface Pointer {
  manifest_id: string;
  manifest_path: string;
  epoch: number;
  parent_pointer_hash?: string;
  updated_at: string;
}

export interface Head {
  pointer: Pointer | null;
  /** Generation of the pointer object, for the compare-and-swap that publishes the next manifest. */
  generation: string | null;
  raw: Buffer | null;
  manifest: Manifest;
}

export function emptyManifest(now: string): Manifest {
  return {
    manifest_id: '0'.padStart(20, '0'),
    epoch: 0,
    schema_version: 2,
    projection_format: PROJECTION_FORMAT,
    listing_version: LISTING_VERSION,
    revision_ulid: '',
    published_at: now,
    watermarks: { last_processed_at: now },
    tables: Object.fromEntries(TABLES.map((t) => [t, {}])) as Manifest['tables'],
  };
}

/** Content-addressed paths: `digest` is the hex SHA-256 of the object's bytes (also its checksum). */
export const shardPath = (table: TableName, shard: string, digest: string) =>
  `state/orchestration/shards/${table}/${shard}/${digest.slice(0, 12)}.ndjson`;

export const archivePath = (table: TableName, month: string, digest: string) =>
  `state/orchestration/archives/${table}/${month}/${digest.slice(0, 12)}.json`;

/**
 * Archives read by this process, by checksum: they are immutable. Few, since one lists a month of a
 * table's shards (thousands of entries, hundreds of KB, for a busy workspace) and a reader needs the
 * months it reads: up to 16 MB of them are kept, least recently used out first.
 */
const archiveCache = new ByteBudgetCache<Record<string, ShardArtifact>>(16 * 1024 * 1024);

export function encodeShard(table: TableName, rows: Iterable<Row>): Buffer {
  const lines = sortedRows(rows, table).map((row) => canonicalJson(row));
  return Buffer.from(lines.length ? `${lines.join('\n')}\n` : '');
}

export function decodeShard(bytes: Buffer): Row[] {
  return bytes
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Row);
}

export class ProjectionCorruptError extends Error {}

/** What `ProjectionStore.loadState` loads: the rows, their shards by the current layout, and the tables laid out otherwise. */
export interface LoadedState {
  state: FoldState;
  /** table → shard (current layout) → row keys. */
  shards: Map<TableName, Map<string, Set<string>>>;
  /** Tables with a row listed in another shard than the current layout's. */
  misplaced: Set<TableName>;
}

/** Reads and writes the state store by known keys only: the pointer, manifests and content-addressed shards. */
export class ProjectionStore {
  constructor(private readonly objects: ObjectStore) {}

  /** Reads the pointer; `known` saves re-reading an immutable manifest the caller already holds. */
  async head(now: string, known?: { path: string; manifest: Manifest }): Promise<Head> {
    const stored = await this.objects.get(POINTER_PATH);
    if (!stored) return { pointer: null, generation: null, raw: null, manifest: emptyManifest(now) };
    const pointer = JSON.parse(stored.bytes.toString('utf8')) as Pointer;
    const manifest =
      known?.path === pointer.manifest_path ? known.manifest : await this.manifest(pointer.manifest_path);
    return { pointer, generation: stored.generation, raw: stored.bytes, manifest };
  }

  async manifest(path: string): Promise<Manifest> {
    const stored = await this.objects.get(path);
    if (!stored) throw new ProjectionCorruptError(`the pointer names ${path}, which does not exist`);
    return JSON.parse(stored.bytes.toString('utf8')) as Manifest;
  }

  async shard(artifact: ShardArtifact): Promise<Row[]> {
    const stored = await this.objects.get(artifact.path);
    if (!stored) throw new ProjectionCorruptError(`shard ${artifact.path} is missing`);
    if (`sha256:${sha256Hex(stored.bytes)}` !== artifact.checksum_sha256)
      throw new ProjectionCorruptError(`shard ${artifact.path} does not match its checksum`);
    return decodeShard(stored.bytes);
  }

  /**
   * The shards an archive lists, checked against its checksum. Concurrent readers share one read; a
   * failed read is not kept. Throws ProjectionCorruptError when the archive is missing or altered.
   */
  archive(ref: ArchiveRef): Promise<Record<string, ShardArtifact>> {
    return archiveCache.get(ref.checksum_sha256, async () => {
      const stored = await this.objects.get(ref.path);
      if (!stored) throw new ProjectionCorruptError(`archive ${ref.path} is missing`);
      if (`sha256:${sha256Hex(stored.bytes)}` !== ref.checksum_sha256)
        throw new ProjectionCorruptError(`archive ${ref.path} does not match its checksum`);
      const { shards } = JSON.parse(stored.bytes.toString('utf8')) as {
        shards: Record<string, ShardArtifact>;
      };
      return { value: shards, bytes: stored.bytes.length };
    });
  }

  /**
   * Create-only, content-addressed like a shard: the same listing again finds the same object, and
   * is not even written when it is `previous` (a month's shards rewritten to identical bytes).
   */
  async writeArchive(
    table: TableName,
    month: string,
    shards: Record<string, ShardArtifact>,
    previous?: ArchiveRef,
  ): Promise<ArchiveRef> {
    const bytes = Buffer.from(canonicalJson({ table, month, shards }));
    const digest = sha256Hex(bytes);
    const path = archivePath(table, month, digest);
    if (previous?.path === path) return previous;
    await this.objects.put(path, bytes, { ifGenerationMatch: 0 });
    const listed = Object.values(shards);
    return {
      path,
      checksum_sha256: `sha256:${digest}`,
      shards: listed.length,
      rows: listed.reduce((n, artifact) => n + artifact.rows, 0),
    };
  }

  /**
   * Every shard a manifest lists for `table`, its own and its archives' (less the shards it lists
   * itself, shardArchives.ts): shard id → artifact.
   */
  async tableShards(manifest: Manifest, table: TableName): Promise<Record<string, ShardArtifact>> {
    const archived = await Promise.all(
      Object.values(manifest.archives?.[table] ?? {}).map((ref) => this.archive(ref)),
    );
    return mergeListing(manifest.tables[table] ?? {}, archived);
  }

  /** Every shard a manifest lists, its own and its archives': table → shard id → artifact. */
  async allShards(manifest: Manifest): Promise<Manifest['tables']> {
    const tables = await mapLimit([...TABLES], 4, (table) => this.tableShards(manifest, table));
    return Object.fromEntries(TABLES.map((table, i) => [table, tables[i]!])) as Manifest['tables'];
  }

  /**
   * The whole state of every shard listed (compactor cold start; `allShards` gives the listing), with
   * each table's rows by the shard the current layout puts them in, and the tables where a row was
   * listed in another shard: published under an older layout, even one whose shard names the current
   * layout reuses (hash shards `-0`…`-3` of an hour against its quarter hours).
   */
  async loadState(tables: Manifest['tables']): Promise<LoadedState> {
    const state = emptyState();
    const shards = new Map(TABLES.map((table) => [table, new Map<string, Set<string>>()]));
    const misplaced = new Set<TableName>();
    const artifacts = TABLES.flatMap((table) =>
      Object.entries(tables[table] ?? {}).map(([id, artifact]) => ({ table, id, artifact })),
    );
    await mapLimit(artifacts, 32, async ({ table, id, artifact }) => {
      const target = state[table] as Map<string, Row>;
      const byShard = shards.get(table)!;
      for (const row of await this.shard(artifact)) {
        const key = rowKey(table, row);
        const shard = shardOfRow(table, row);
        if (shard !== id) misplaced.add(table);
        target.set(key, row);
        if (!byShard.has(shard)) byShard.set(shard, new Set());
        byShard.get(shard)!.add(key);
      }
    });
    return { state, shards, misplaced };
  }

  /** Create-only, content-addressed: writing identical bytes again finds the same object and is fine. */
  async writeShard(table: TableName, shard: string, rows: Row[]): Promise<ShardArtifact | null> {
    if (!rows.length) return null;
    const bytes = encodeShard(table, rows);
    const digest = sha256Hex(bytes);
    const path = shardPath(table, shard, digest);
    await this.objects.put(path, bytes, { ifGenerationMatch: 0, contentType: 'application/x-ndjson' });
    const { open, pagedBy } = TABLE_SPECS[table];
    const range = pagedBy && rangeOf(rows.map(pagedBy));
    return {
      path,
      checksum_sha256: `sha256:${digest}`,
      byte_size: bytes.length,
      rows: rows.length,
      ...(open ? { open_rows: rows.filter(open).length } : {}),
      ...(range ? { paged_range: range } : {}),
    };
  }

  /**
   * Writes the manifest create-only under the first free id from `manifest.manifest_id` on. An id taken
   * by an orphan (a crash between this write and the pointer move) is skipped, never waited on ([D] B7).
   * Steps grow after a few misses, so even a workspace whose pointer alone was deleted finds a free id
   * quickly; succession only needs ids to increase, not to be dense.
   */
  async writeManifest(manifest: Manifest, maxTries = 64): Promise<{ manifest: Manifest; path: string }> {
    let id = Number(manifest.manifest_id);
    for (let attempt = 0; attempt < maxTries; attempt += 1) {
      const candidate = { ...manifest, manifest_id: String(id).padStart(20, '0') };
      const path = manifestPath(id);
      const put = await this.objects.put(path, canonicalJson(candidate), { ifGenerationMatch: 0 });
      if (put.status === 'written') return { manifest: candidate, path };
      id += attempt < 8 ? 1 : 2 ** (attempt - 7);
    }
    throw new ProjectionCorruptError(
      `no free manifest id after ${manifest.manifest_id} in ${maxTries} tries`,
    );
  }

  /** The visibility gate: create-only for the first pointer, else compare-and-swap on its generation. */
  async movePointer(head: Head, manifest: Manifest, path: string, now: string) {
    const pointer: Pointer = {
      manifest_id: manifest.manifest_id,
      manifest_path: path,
      epoch: manifest.epoch,
      ...(head.raw ? { parent_pointer_hash: `sha256:${sha256Hex(head.raw)}` } : {}),
      updated_at: now,
    };
    const raw = Buffer.from(canonicalJson(pointer));
    const result = await this.objects.put(POINTER_PATH, raw, {
      ifGenerationMatch: head.generation ?? 0,
    });
    if (result.status !== 'written') return { moved: false as const };
    pointerMoves.inc();
    if (head.pointer)
      pointerMoveInterval.observe((Date.parse(now) - Date.parse(head.pointer.updated_at)) / 1000);
    return { moved: true as const, generation: result.generation, pointer, raw };
  }
}

/** Every shard a draft touched, with the rows it now holds. */
export function touchedShards(
  state: FoldState,
  changed: Map<TableName, Map<string, Row | null>>,
): Array<{ table: TableName; shard: string }> {
  const touched = new Map<string, { table: TableName; shard: string }>();
  for (const [table, writes] of changed)
    for (const [key, row] of writes) {
      const current = row ?? state[table].get(key);
      if (!current) continue;
      const shard = shardOfRow(table, current);
      touched.set(`${table}/${shard}`, { table, shard });
    }
  return [...touched.values()];
}
