import { decodeTime, isValid } from 'ulid';
import type { ArchiveRef, Manifest, ShardArtifact } from './projectionStore.ts';
import { dayOfShard, TABLES, type TableName } from './projectionTables.ts';

/**
 * Month archives: a publish rewrites its whole manifest, so a manifest that listed every shard ever
 * written would cost each publish (about one a second) more as history grows: 8 000 shards, 1.8 MB,
 * after a million rows over 100 days. The shards of time buckets on days before the line are listed
 * instead in one immutable archive per table and UTC month, which the manifest names. A publish
 * rewrites an archive only when a shard of its month changed (a late retry of an old run, retention)
 * or the line moved into it (once a day), and the manifest keeps the live days' shards, the hash shards
 * (a fixed number) and one entry per table and archived month: a few KB a year.
 */

/** Days listed in the manifest itself: the newest event's day and the day before it. */
const LIVE_DAYS = 2;

/**
 * The archive (`YYYYMM`, the UTC month) that lists shard `id` under archive line `line`, or null when the
 * manifest lists it itself: a hash shard, or a time bucket on the line's day or after.
 */
export function archiveOfShard(id: string, line: string | undefined): string | null {
  const day = dayOfShard(id);
  return day !== null && line !== undefined && day < line ? day.slice(0, 6) : null;
}

/**
 * The archive line after a publish whose newest event is `newestEventId` (a ULID): the first UTC day
 * (`YYYYMMDD`) that stays in the manifest, `LIVE_DAYS − 1` days before that event's. Event time, not the
 * wall clock, so a rebuild of the same events draws the same line; never before `previous`.
 */
export function archiveLine(newestEventId: string, previous?: string): string | undefined {
  if (!isValid(newestEventId)) return previous;
  const line = new Date(decodeTime(newestEventId) - (LIVE_DAYS - 1) * 86_400_000)
    .toISOString()
    .slice(0, 10)
    .replaceAll('-', '');
  return previous !== undefined && previous > line ? previous : line;
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
 * publish's writes (table → id → artifact), `touched` the shard ids it wrote or emptied, `line` from
 * `archiveLine`. Untouched shards keep their place. When an archived shard changed, or the line
 * moved, that table's listing is grouped by month again (in memory, over its whole history) and each
 * month concerned is written whole: a run still changing two days after the day it was created (a
 * long backfill) costs each publish that touches it its month's archive, up to a month of that
 * table's shards. Bounded for steady work, not for that case. A month with no shards left loses its
 * archive.
 */
export function planArchives(
  previous: Manifest,
  all: Manifest['tables'],
  touched: ReadonlyMap<TableName, Iterable<string>>,
  line: string | undefined,
): ArchivePlan {
  const archiveOf = (id: string) => archiveOfShard(id, line);
  const lineMoved = line !== previous.archived_before;
  const plan: ArchivePlan = {
    tables: {} as Manifest['tables'],
    keep: {},
    write: [],
  };
  for (const table of TABLES) {
    const listed = { ...(previous.tables[table] ?? {}) };
    const dirty = new Set<string>();
    for (const id of touched.get(table) ?? []) {
      const month = archiveOf(id);
      if (month) dirty.add(month);
      if (month || !all[table]?.[id]) delete listed[id];
      else listed[id] = all[table][id];
    }
    if (lineMoved)
      for (const id of Object.keys(listed)) {
        const month = archiveOf(id);
        if (month) {
          dirty.add(month);
          delete listed[id];
        }
      }
    plan.tables[table] = listed;
    const archived = previous.archives?.[table] ?? {};
    const kept = Object.fromEntries(Object.entries(archived).filter(([month]) => !dirty.has(month)));
    if (Object.keys(kept).length) plan.keep[table] = kept;
    if (!dirty.size) continue;
    const byMonth = new Map<string, Record<string, ShardArtifact>>();
    for (const [id, artifact] of Object.entries(all[table] ?? {})) {
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
