import { describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import {
  emptyManifest,
  type Manifest,
  type ShardArtifact,
} from '../../shared/orchestration/state/projectionStore.ts';
import { TABLES, type TableName } from '../../shared/orchestration/state/projectionTables.ts';
import { archiveLine, planArchives } from '../../shared/orchestration/state/shardArchives.ts';

const artifact = (name: string, rows = 1): ShardArtifact => ({
  path: `shards/${name}`,
  checksum_sha256: `sha256:${name}`,
  byte_size: 10,
  rows,
});
const listing = (entries: Partial<Record<TableName, Record<string, ShardArtifact>>>) =>
  Object.fromEntries(TABLES.map((t) => [t, { ...(entries[t] ?? {}) }])) as Manifest['tables'];
const manifestWith = (patch: Partial<Manifest>): Manifest => ({ ...emptyManifest('now'), ...patch });

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
    const plan = planArchives(previous, all, new Map(), '20261201');
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
  });

  it('rewrites only the archive of a month whose shard changed, keeps the others, and lists live changes itself', () => {
    const ref = (month: string) => ({
      path: `archives/${month}`,
      checksum_sha256: `sha256:${month}`,
      shards: 1,
      rows: 1,
    });
    const previous = manifestWith({
      archived_before: '20261201',
      tables: listing({ runs: { 't2026120100-1': artifact('r01') } }),
      archives: { runs: { '202610': ref('202610'), '202611': ref('202611') } },
    });
    const all = listing({
      runs: {
        't2026102900-1': artifact('r1029'),
        't2026112800-1': artifact('r28-new'),
        't2026112800-5': artifact('r28b'),
        't2026120100-1': artifact('r01-new'),
        't2026120200-3': artifact('r02'),
      },
    });
    const touched = new Map<TableName, string[]>([
      ['runs', ['t2026112800-1', 't2026120100-1', 't2026120200-3']],
    ]);
    const plan = planArchives(previous, all, touched, '20261201');
    expect(plan.tables.runs).toEqual({
      't2026120100-1': artifact('r01-new'),
      't2026120200-3': artifact('r02'),
    });
    expect(plan.keep).toEqual({ runs: { '202610': ref('202610') } });
    expect(plan.write).toEqual([
      {
        table: 'runs',
        month: '202611',
        shards: { 't2026112800-1': artifact('r28-new'), 't2026112800-5': artifact('r28b') },
        previous: ref('202611'),
      },
    ]);
  });

  it('drops the archive of a month left without shards (retention) and the listing of an emptied live shard', () => {
    const ref = { path: 'archives/k', checksum_sha256: 'sha256:k', shards: 1, rows: 1 };
    const previous = manifestWith({
      archived_before: '20261201',
      tables: listing({ idempotency_keys: { 't2026120209-0': artifact('k02') } }),
      archives: { idempotency_keys: { '202610': ref } },
    });
    const touched = new Map<TableName, string[]>([['idempotency_keys', ['t2026102813-0', 't2026120209-0']]]);
    const plan = planArchives(previous, listing({}), touched, '20261201');
    expect(plan.tables.idempotency_keys).toEqual({});
    expect(plan.keep).toEqual({});
    expect(plan.write).toEqual([]);
  });

  it('archives what an earlier day left in the manifest when the line moves, and nothing without a line', () => {
    const ref = { path: 'archives/202612', checksum_sha256: 'sha256:a', shards: 1, rows: 1 };
    const all = listing({
      runs: {
        't2026120100-1': artifact('r01'),
        't2026120200-1': artifact('r02'),
        't2026120300-1': artifact('r03'),
      },
    });
    const previous = manifestWith({
      archived_before: '20261202',
      tables: listing({ runs: { 't2026120200-1': artifact('r02'), 't2026120300-1': artifact('r03') } }),
      archives: { runs: { '202612': ref } },
    });
    const moved = planArchives(previous, all, new Map(), '20261203');
    expect(moved.tables.runs).toEqual({ 't2026120300-1': artifact('r03') });
    // The month's archive is written again with the day that joined it.
    expect(moved.write).toEqual([
      {
        table: 'runs',
        month: '202612',
        shards: { 't2026120100-1': artifact('r01'), 't2026120200-1': artifact('r02') },
        previous: ref,
      },
    ]);
    const none = planArchives(manifestWith({ tables: all }), all, new Map(), undefined);
    expect(none.tables.runs).toEqual(all.runs);
    expect(none.write).toEqual([]);
  });
});
