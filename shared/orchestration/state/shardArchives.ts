import { decodeTime, isValid } from 'ulid';
import type { ArchiveRef, Manifest, ShardArtifact } from './projectionStore.ts';
import { TABLES, type TableName } from './projectionTables.ts';

/**
 * Month archives: a publish rewrites its whole manifest, so a manifest that listed every shard ever
 * written would cost each publish (about one a second) more as history grows: 8 000 shards, 1.8 MB,
 * after a million rows over 100 days. The shards of time buckets on days before the line are listed
 * instead in one immutable archive per table and UTC month, which the manifest names. An archive is
 * written when the line moves into its month (once a day) or one of its shards is emptied
 * (retention); the manifest keeps the live days' shards, the hash shards (a fixed number) and one
 * entry per table and archived month: a few KB a year.
 *
 * A shard before the line that changes again (a long backfill's run, a late retry) is not written
 * into its archive at each publish: the manifest lists that shard itself, every slice of it, until the
 * line next moves and the month's archive takes it back. Where the manifest lists any slice of a
 * shard, its own listing is that shard's whole listing and the archive's entries for it are
 * superseded (`listedShards`): a publish costs what changed that day, never a month of shards.
 */

/** Days listed in the manifest itself: the newest event's day and the day before it. */
const LIVE_DAYS = 2;

/**
 * The most entries before the line one table's listing in the manifest keeps (shards changed late,
 * every slice of each): past it, the months concerned have their archives written instead. A long
 * backfill's run costs a few dozen; a table rewritten whole (a slicing change) would otherwise put its
 * whole history in the manifest until the line next moves.
 */
const MAX_LATE_ENTRIES = 256;

/**
 * Tables whose archive line is drawn by the hour (`YYYYMMDDHH`): the newest event's hour and the one
 * before it stay in the manifest. Idempotency keys, the largest table, have a shard per quarter hour;
 * two days of them would list 192 shards in each manifest, two hours list 8. No reader but the
 * compactor reads them.
 */
const HOURLY_TABLES: ReadonlySet<TableName> = new Set(['idempotency_keys']);

/**
 * The archive (`YYYYMM`, the UTC month) that lists shard `id` under archive line `line` (a day
 * `YYYYMMDD` or an hour `YYYYMMDDHH`), or null when the manifest lists it itself: a hash shard, or a
 * time bucket on the line's day (hour) or after.
 */
export function archiveOfShard(id: string, line: string | undefined): string | null {
  const time = /^t(\d{10})-/.exec(id)?.[1];
  return time !== undefined && line !== undefined && time.slice(0, line.length) < line
    ? time.slice(0, 6)
    : null;
}

/** The archive line of `table` in `manifest`: its own (hourly tables), else the manifest's. */
export function tableLine(lines: ArchiveLines | null | undefined, table: TableName): string | undefined {
  return lines?.archived_before_by_table?.[table] ?? lines?.archived_before;
}

/**
 * The archive line after a publish whose newest event is `newestEventId` (a ULID): the first UTC day
 * (`YYYYMMDD`) that stays in the manifest, `LIVE_DAYS − 1` days before that event's. Event time, not the
 * wall clock, so a rebuild of the same events draws the same line; never before `previous`.
 */
export function archiveLine(newestEventId: string, previous?: string): string | undefined {
  return lineBefore(newestEventId, (LIVE_DAYS - 1) * 86_400_000, 8, previous);
}

/**
 * The UTC time `beforeMs` before event `eventId`'s, as its first `digits` of `YYYYMMDDHH`; never before
 * `previous`, and `previous` when the id carries no time.
 */
function lineBefore(eventId: string, beforeMs: number, digits: number, previous?: string) {
  if (!isValid(eventId)) return previous;
  const line = new Date(decodeTime(eventId) - beforeMs).toISOString().replace(/[-T:]/g, '').slice(0, digits);
  return previous !== undefined && previous > line ? previous : line;
}

/** A manifest's archive lines: the day line, and the hour lines of the hourly tables. */
export interface ArchiveLines {
  archived_before?: string;
  archived_before_by_table?: Partial<Record<TableName, string>>;
}

/**
 * The day line (`archiveLine`) and, for the hourly tables, an hour line: the hour before the newest
 * event's (`YYYYMMDDHH`), never before the table's previous hour line.
 */
export function archiveLines(newestEventId: string, previous: Manifest): ArchiveLines {
  const archived_before = archiveLine(newestEventId, previous.archived_before);
  const byTable: Partial<Record<TableName, string>> = {};
  for (const table of HOURLY_TABLES) {
    const line = lineBefore(newestEventId, 3_600_000, 10, previous.archived_before_by_table?.[table]);
    if (line !== undefined) byTable[table] = line;
  }
  return {
    ...(archived_before ? { archived_before } : {}),
    ...(Object.keys(byTable).length ? { archived_before_by_table: byTable } : {}),
  };
}

/** The shard an id of a listing belongs to: the id without its slice (`t2026112800-1.r04` → `t2026112800-1`). */
export function shardOfId(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? id : id.slice(0, dot);
}

/**
 * The shards a manifest's own listing of a table names (any slice of them), which supersede their
 * archive's entries. Worked out once per listing object.
 */
export function listedShards(listing: Record<string, ShardArtifact>): ReadonlySet<string> {
  let shards = listedShardsCache.get(listing);
  if (!shards) {
    shards = new Set(Object.keys(listing).map(shardOfId));
    listedShardsCache.set(listing, shards);
  }
  return shards;
}
const listedShardsCache = new WeakMap<Record<string, ShardArtifact>, ReadonlySet<string>>();

/**
 * A table's whole listing: its archives' entries, less those of the shards the manifest lists itself,
 * plus the manifest's own.
 */
export function mergeListing(
  own: Record<string, ShardArtifact>,
  archived: ReadonlyArray<Record<string, ShardArtifact>>,
): Record<string, ShardArtifact> {
  const superseded = listedShards(own);
  const merged: Record<string, ShardArtifact> = {};
  for (const archive of archived)
    for (const [id, artifact] of Object.entries(archive))
      if (!superseded.has(shardOfId(id))) merged[id] = artifact;
  return Object.assign(merged, own);
}

/** What a publish lists: the manifest's own shards, the archives it keeps, and those it writes anew. */
export interface ArchivePlan {
  /** The next manifest's `tables`: every shard not in an archive. */
  tables: Manifest['tables'];
  /** Archives carried over unchanged, table → month. */
  keep: Partial<Record<TableName, Record<string, ArchiveRef>>>;
  /** Archives to write (a shard of the month changed, or one was just sealed); `previous` is its last. */
  write: Array<{
    table: TableName;
    month: string;
    shards: Record<string, ShardArtifact>;
    previous?: ArchiveRef;
  }>;
}

/**
 * Splits the next listing between the manifest and its archives. `all` is every shard after this
 * publish's writes (table → id → artifact), `touched` the shard ids it wrote or emptied, `lines` from
 * `archiveLines`, and `idsOf(table, shard)` the ids `all` holds for a shard (its slices). Untouched
 * shards keep their place. A changed shard before the line is listed by the manifest itself, every
 * slice of it, so its archive is not written again. A shard before the line that is emptied, a line
 * that moved, or more than `MAX_LATE_ENTRIES` such entries for the table has the months concerned
 * grouped again (in memory, over that table's history) and their archives written whole, taking back
 * the shards the manifest listed for them. A month with no shards left loses its archive.
 */
export function planArchives(
  previous: Manifest,
  all: Manifest['tables'],
  touched: ReadonlyMap<TableName, Iterable<string>>,
  lines: ArchiveLines,
  idsOf: (table: TableName, shard: string) => Iterable<string>,
): ArchivePlan {
  const plan: ArchivePlan = {
    tables: {} as Manifest['tables'],
    keep: {},
    write: [],
  };
  for (const table of TABLES) {
    const line = tableLine(lines, table);
    const archiveOf = (id: string) => archiveOfShard(id, line);
    const lineMoved = line !== tableLine(previous, table);
    const listed = { ...(previous.tables[table] ?? {}) };
    const current = all[table] ?? {};
    const dirty = new Set<string>();
    const late = new Set<string>();
    for (const id of touched.get(table) ?? []) {
      const month = archiveOf(id);
      // A moved line writes the months it concerns anyway (a first publish, a rebuild: all of them).
      if (month && lineMoved) dirty.add(month);
      else if (month) late.add(shardOfId(id));
      else if (current[id]) listed[id] = current[id];
      else delete listed[id];
    }
    if (lineMoved)
      for (const id of Object.keys(listed)) {
        const month = archiveOf(id);
        if (month) dirty.add(month);
      }
    if (late.size) {
      // The manifest's listing of each late shard is replaced whole: its slices now.
      for (const id of Object.keys(listed)) if (late.has(shardOfId(id))) delete listed[id];
      for (const shard of late) {
        const ids = [...idsOf(table, shard)].filter((id) => current[id]);
        // Emptied: only a new archive forgets it (the manifest no longer listing it would bring the
        // archive's entries back).
        if (!ids.length) dirty.add(archiveOf(shard)!);
        else for (const id of ids) listed[id] = current[id]!;
      }
      const lateIds = Object.keys(listed).filter((id) => archiveOf(id));
      if (lateIds.length > MAX_LATE_ENTRIES) for (const id of lateIds) dirty.add(archiveOf(id)!);
    }
    // A month whose archive is written takes back every shard of it the manifest listed.
    if (dirty.size)
      for (const id of Object.keys(listed)) if (dirty.has(archiveOf(id) ?? '')) delete listed[id];
    plan.tables[table] = listed;
    const archived = previous.archives?.[table] ?? {};
    const kept = Object.fromEntries(Object.entries(archived).filter(([month]) => !dirty.has(month)));
    if (Object.keys(kept).length) plan.keep[table] = kept;
    if (!dirty.size) continue;
    const byMonth = new Map<string, Record<string, ShardArtifact>>();
    for (const [id, artifact] of Object.entries(current)) {
      const month = archiveOf(id);
      if (!month || !dirty.has(month)) continue;
      const shards = byMonth.get(month);
      if (shards) shards[id] = artifact;
      else byMonth.set(month, { [id]: artifact });
    }
    for (const [month, shards] of [...byMonth].sort(([a], [b]) => (a < b ? -1 : 1)))
      plan.write.push({ table, month, shards, ...(archived[month] ? { previous: archived[month] } : {}) });
  }
  return plan;
}
