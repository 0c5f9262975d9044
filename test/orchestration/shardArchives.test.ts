import { describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import {
  emptyManifest,
  type Manifest,
  type ShardArtifact,
} from '../../shared/orchestration/state/projectionStore.ts';
import { TABLES, type TableName } from '../../shared/orchestration/state/projectionTables.ts';
import {
  archiveLine,
  archiveLines,
  archiveOfShard,
  mergeListing,
  planArchives,
  shardOfId,
} from '../../shared/orchestration/state/shardArchives.ts';

const artifact = (name: string, rows = 1): ShardArtifact => ({
  path: `shards/${name}`,
  checksum_sha256: `sha256:${name}`,
  byte_size: 10,
  rows,
});
const listing = (entries: Partial<Record<TableName, Record<string, ShardArtifact>>>) =>
  Object.fromEntries(TABLES.map((t) => [t, { ...(entries[t] ?? {}) }])) as Manifest['tables'];
const manifestWith = (patch: Partial<Manifest>): Manifest => ({ ...emptyManifest('now'), ...patch });
/** The ids a listing holds for a shard, as the compactor's index gives them. */
const idsIn = (all: Manifest['tables']) => (table: TableName, shard: string) =>
  Object.keys(all[table] ?? {}).filter((id) => shardOfId(id) === shard);
const ref = (name: string) => ({
  path: `archives/${name}`,
  checksum_sha256: `sha256:${name}`,
  shards: 1,
  rows: 1,
});

describe('month archives of the shards before the line', () => {
  it('draws the line a day before the newest event, by event time, and never moves it back', () => {
    const at = (iso: string) => ulid(Date.parse(iso));
    expect(archiveLine(at('2026-12-02T08:00:00Z'))).toBe('20261201');
    expect(archiveLine(at('2026-12-02T00:00:00Z'))).toBe('20261201');
    expect(archiveLine(at('2026-12-01T23:59:59Z'), '20261201')).toBe('20261201');
    expect(archiveLine(at('2026-11-20T10:00:00Z'), '20261201')).toBe('20261201');
    expect(archiveLine('not-a-ulid', '20261130')).toBe('20261130');
    expect(archiveLine('not-a-ulid')).toBeUndefined();
  });

  it('draws an hour line for idempotency keys, whose quarter-hour shards of earlier hours go to archives', () => {
    const at = (iso: string) => ulid(Date.parse(iso));
    expect(archiveLines(at('2026-12-02T08:10:00Z'), manifestWith({}))).toEqual({
      archived_before: '20261201',
      archived_before_by_table: { idempotency_keys: '2026120207' },
    });
    const previous = manifestWith({
      archived_before: '20261201',
      archived_before_by_table: { idempotency_keys: '2026120209' },
    });
    expect(archiveLines(at('2026-12-02T08:10:00Z'), previous).archived_before_by_table).toEqual({
      idempotency_keys: '2026120209',
    });
    expect(archiveOfShard('t2026120206-3', '2026120207')).toBe('202612');
    expect(archiveOfShard('t2026120207-0', '2026120207')).toBeNull();
    expect(archiveOfShard('t2026120206-3', '20261202')).toBeNull();
    expect(archiveOfShard('h03', '2026120207')).toBeNull();

    const all = listing({
      runs: { 't2026120200-1': artifact('r02') },
      idempotency_keys: {
        't2026113023-3': artifact('k30'),
        't2026120206-4': artifact('k06'),
        't2026120207-0': artifact('k07'),
        't2026120208-2': artifact('k08'),
      },
    });
    // From a manifest whose keys followed the day line: the months concerned are written once.
    const plan = planArchives(
      manifestWith({ archived_before: '20261201', tables: all }),
      all,
      new Map(),
      { archived_before: '20261201', archived_before_by_table: { idempotency_keys: '2026120207' } },
      idsIn(all),
    );
    expect(plan.tables.runs).toEqual(all.runs);
    expect(plan.tables.idempotency_keys).toEqual({
      't2026120207-0': artifact('k07'),
      't2026120208-2': artifact('k08'),
    });
    expect(plan.write.map(({ table, month, shards }) => [table, month, Object.keys(shards)])).toEqual([
      ['idempotency_keys', '202611', ['t2026113023-3']],
      ['idempotency_keys', '202612', ['t2026120206-4']],
    ]);
  });

  it('moves the shards of days before the line into one archive per table and month, leaving the rest', () => {
    const all = listing({
      runs: {
        't2026102800-1': artifact('r1028'),
        't2026112800-1': artifact('r28a'),
        't2026112800-5': artifact('r28b'),
        't2026112900-1': artifact('r29'),
        't2026120100-1': artifact('r01'),
        h03: artifact('rh'),
      },
      tasks: { 't2026112800-1.r04': artifact('t28', 5), 't2026120200-2.r00': artifact('t02') },
      idempotency_keys: { 't2026112813-0': artifact('k28'), 't2026120209-0': artifact('k02') },
    });
    const previous = manifestWith({ tables: all });
    const plan = planArchives(previous, all, new Map(), { archived_before: '20261201' }, idsIn(all));
    expect(plan.tables.runs).toEqual({ 't2026120100-1': artifact('r01'), h03: artifact('rh') });
    expect(plan.tables.tasks).toEqual({ 't2026120200-2.r00': artifact('t02') });
    expect(plan.tables.idempotency_keys).toEqual({ 't2026120209-0': artifact('k02') });
    expect(plan.keep).toEqual({});
    expect(plan.write.map(({ table, month, shards }) => [table, month, Object.keys(shards)])).toEqual([
      ['runs', '202610', ['t2026102800-1']],
      ['runs', '202611', ['t2026112800-1', 't2026112800-5', 't2026112900-1']],
      ['tasks', '202611', ['t2026112800-1.r04']],
      ['idempotency_keys', '202611', ['t2026112813-0']],
    ]);
    // A first publish (a rebuild) that writes every shard at once archives them the same way.
    const touched = new Map(TABLES.map((table) => [table, Object.keys(all[table])]));
    const first = planArchives(
      emptyManifest('now'),
      all,
      touched,
      { archived_before: '20261201' },
      idsIn(all),
    );
    expect(first).toEqual(plan);
  });

  it('lists a changed shard before the line itself, every slice of it, and writes no archive for it', () => {
    const previous = manifestWith({
      archived_before: '20261201',
      tables: listing({ tasks: { 't2026120100-1.r00': artifact('t01') } }),
      archives: { tasks: { '202610': ref('202610'), '202611': ref('202611') } },
    });
    const all = listing({
      tasks: {
        't2026102900-1.r00': artifact('t1029'),
        't2026112800-1.r04': artifact('t28-r04-new'),
        't2026112800-1.r07': artifact('t28-r07'),
        't2026112800-5.r00': artifact('t28b'),
        't2026120100-1.r00': artifact('t01-new'),
        't2026120200-3.r00': artifact('t02'),
      },
    });
    const touched = new Map<TableName, string[]>([
      ['tasks', ['t2026112800-1.r04', 't2026120100-1.r00', 't2026120200-3.r00']],
    ]);
    const plan = planArchives(previous, all, touched, { archived_before: '20261201' }, idsIn(all));
    expect(plan.tables.tasks).toEqual({
      't2026112800-1.r04': artifact('t28-r04-new'),
      't2026112800-1.r07': artifact('t28-r07'),
      't2026120100-1.r00': artifact('t01-new'),
      't2026120200-3.r00': artifact('t02'),
    });
    expect(plan.keep).toEqual({ tasks: { '202610': ref('202610'), '202611': ref('202611') } });
    expect(plan.write).toEqual([]);

    // The next change to that shard empties a slice: the manifest's listing of it follows.
    const after = { ...all.tasks };
    delete after['t2026112800-1.r07'];
    after['t2026112800-1.r04'] = artifact('t28-r04-newer');
    const next = listing({ tasks: after });
    const again = planArchives(
      manifestWith({ ...previous, tables: plan.tables, archives: plan.keep }),
      next,
      new Map([['tasks', ['t2026112800-1.r04', 't2026112800-1.r07']]]),
      { archived_before: '20261201' },
      idsIn(next),
    );
    expect(Object.keys(again.tables.tasks).sort()).toEqual([
      't2026112800-1.r04',
      't2026120100-1.r00',
      't2026120200-3.r00',
    ]);
    expect(again.tables.tasks['t2026112800-1.r04']).toEqual(artifact('t28-r04-newer'));
    expect(again.write).toEqual([]);
  });

  it('writes the months again instead when the shards changed late would list more than 256 entries (a table rewritten whole)', () => {
    const tasks: Record<string, ShardArtifact> = {};
    for (let day = 10; day < 19; day += 1)
      for (let slice = 0; slice < 32; slice += 1)
        tasks[`t202611${day}00-1.r${slice.toString(16).padStart(2, '0')}`] = artifact(`t${day}-${slice}`);
    const all = listing({ tasks: { ...tasks, 't2026120200-3.r00': artifact('t02') } });
    const previous = manifestWith({
      archived_before: '20261201',
      tables: listing({ tasks: { 't2026120200-3.r00': artifact('t02') } }),
      archives: { tasks: { '202611': ref('202611') } },
    });
    const touched = new Map<TableName, string[]>([['tasks', Object.keys(tasks)]]);
    const plan = planArchives(previous, all, touched, { archived_before: '20261201' }, idsIn(all));
    expect(plan.tables.tasks).toEqual({ 't2026120200-3.r00': artifact('t02') });
    expect(plan.keep).toEqual({});
    expect(plan.write).toEqual([{ table: 'tasks', month: '202611', shards: tasks, previous: ref('202611') }]);
    // Below the bound, the same change to fewer shards stays in the manifest.
    const few = new Map<TableName, string[]>([['tasks', Object.keys(tasks).slice(0, 64)]]);
    const listed = planArchives(previous, all, few, { archived_before: '20261201' }, idsIn(all));
    expect(Object.keys(listed.tables.tasks)).toHaveLength(65);
    expect(listed.write).toEqual([]);
  });

  it("reads a shard the manifest lists itself from the manifest alone, not from its archive's older entries", () => {
    const archived = {
      't2026112800-1.r04': artifact('old-r04'),
      't2026112800-1.r07': artifact('old-r07'),
      't2026112800-5.r00': artifact('other'),
    };
    const own = { 't2026112800-1.r04': artifact('new-r04'), 't2026120200-3.r00': artifact('live') };
    expect(mergeListing(own, [archived])).toEqual({
      't2026112800-1.r04': artifact('new-r04'),
      't2026112800-5.r00': artifact('other'),
      't2026120200-3.r00': artifact('live'),
    });
  });

  it('writes the archive again when a shard before the line is emptied, taking back what the manifest listed of that month', () => {
    const previous = manifestWith({
      archived_before: '20261201',
      tables: listing({
        tasks: { 't2026112800-1.r04': artifact('late'), 't2026112700-2.r00': artifact('late2') },
      }),
      archives: { tasks: { '202611': ref('202611') } },
    });
    const all = listing({
      tasks: { 't2026112700-2.r00': artifact('late2'), 't2026112600-1.r00': artifact('t26') },
    });
    const touched = new Map<TableName, string[]>([['tasks', ['t2026112800-1.r04']]]);
    const plan = planArchives(previous, all, touched, { archived_before: '20261201' }, idsIn(all));
    expect(plan.tables.tasks).toEqual({});
    expect(plan.keep).toEqual({});
    expect(plan.write).toEqual([
      {
        table: 'tasks',
        month: '202611',
        shards: { 't2026112700-2.r00': artifact('late2'), 't2026112600-1.r00': artifact('t26') },
        previous: ref('202611'),
      },
    ]);
  });

  it('drops the archive of a month left without shards (retention) and the listing of an emptied live shard', () => {
    const previous = manifestWith({
      archived_before: '20261201',
      tables: listing({ idempotency_keys: { 't2026120209-0': artifact('k02') } }),
      archives: { idempotency_keys: { '202610': ref('k') } },
    });
    const touched = new Map<TableName, string[]>([['idempotency_keys', ['t2026102813-0', 't2026120209-0']]]);
    const plan = planArchives(
      previous,
      listing({}),
      touched,
      { archived_before: '20261201' },
      idsIn(listing({})),
    );
    expect(plan.tables.idempotency_keys).toEqual({});
    expect(plan.keep).toEqual({});
    expect(plan.write).toEqual([]);
  });

  it('archives what an earlier day left in the manifest when the line moves, shards changed late included, and nothing without a line', () => {
    const all = listing({
      runs: {
        't2026112800-1': artifact('r28-late'),
        't2026112900-1': artifact('r29'),
        't2026120100-1': artifact('r01'),
        't2026120200-1': artifact('r02'),
        't2026120300-1': artifact('r03'),
      },
    });
    const previous = manifestWith({
      archived_before: '20261202',
      tables: listing({
        runs: {
          't2026112800-1': artifact('r28-late'),
          't2026120200-1': artifact('r02'),
          't2026120300-1': artifact('r03'),
        },
      }),
      archives: { runs: { '202611': ref('202611'), '202612': ref('202612') } },
    });
    const moved = planArchives(previous, all, new Map(), { archived_before: '20261203' }, idsIn(all));
    expect(moved.tables.runs).toEqual({ 't2026120300-1': artifact('r03') });
    // Each month concerned is written again: with the day that joined it, with the shard changed late.
    expect(moved.write).toEqual([
      {
        table: 'runs',
        month: '202611',
        shards: { 't2026112800-1': artifact('r28-late'), 't2026112900-1': artifact('r29') },
        previous: ref('202611'),
      },
      {
        table: 'runs',
        month: '202612',
        shards: { 't2026120100-1': artifact('r01'), 't2026120200-1': artifact('r02') },
        previous: ref('202612'),
      },
    ]);
    const none = planArchives(manifestWith({ tables: all }), all, new Map(), {}, idsIn(all));
    expect(none.tables.runs).toEqual(all.runs);
    expect(none.write).toEqual([]);
  });
});
