import { describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import { ManualClock } from '../../shared/adapters/clock.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { InjectedFault } from '../../shared/core/failpoints.ts';
import { Compactor, resetCompactorCache } from '../../shared/orchestration/state/compactor.ts';
import type { EventData, OrchestrationEvent } from '../../shared/orchestration/state/events.ts';
import { foldEvents } from '../../shared/orchestration/state/evolve.ts';
import { compactorDeps, ledgerFor, readerFor } from '../../shared/orchestration/orchestrationServices.ts';
import { POINTER_PATH, ProjectionStore } from '../../shared/orchestration/state/projectionStore.ts';
import {
  emptyState,
  type Row,
  sortedRows,
  TABLE_SPECS,
} from '../../shared/orchestration/state/projectionTables.ts';
import { compareDescThenAsc } from '../../shared/http/keysetPage.ts';
import { archiveOfShard } from '../../shared/orchestration/state/shardArchives.ts';
import { inMemoryDependencies } from '../support/inMemoryDependencies.ts';

/**
 * A model check of month archives and of the shards the manifest lists itself after a late change
 * (shardArchives.ts): random runs up to 20 days old, late dispatches, starts and finishes, clock moves
 * across days and months, cold starts and crashes at each `compactor.*` failpoint. After every publish
 * each reader path and a cold start's load must equal a pure fold of the ledger; after the line moves, a
 * rebuild from the ledger lists what the live compactor lists.
 */
const RUN_TABLES = ['runs', 'tasks', 'dep_satisfaction', 'dispatch_outbox'] as const;

/** A small seeded generator (a linear congruential one), so a failing seed replays. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

async function scenario(seed: number, steps: number, maxAdvanceHours: number) {
  const rand = random(seed);
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)]!;
  const clock = new ManualClock(new Date());
  const deps = inMemoryDependencies({ overrides: { clock } });
  const scope = { tenant: 'acme', workspace: `archives-${seed}` };
  const objects = scopedObjectStore(deps.objects, scope);
  const store = new ProjectionStore(objects);
  resetCompactorCache();
  const ledger = ledgerFor(deps, scope, { hint: false });
  let compactor = new Compactor(compactorDeps(deps, scope));
  const events: OrchestrationEvent[] = [];
  const paths: string[] = [];
  const runs: Array<{ runId: string; tasks: string[] }> = [];
  let lateListed = 0;
  const append = async (data: EventData[]) => {
    const result = await ledger.append(data.map((d) => ({ data: d })));
    events.push(...result.events);
    paths.push(...result.paths);
  };
  const drain = async () => {
    if (rand() < 0.12) {
      const failpoint = pick([
        'compactor.after_shards',
        'compactor.after_manifest',
        'compactor.after_pointer',
      ]);
      deps.failpoints.arm(failpoint, 1);
      await expect(compactor.drain()).rejects.toThrow(InjectedFault);
    }
    await compactor.drain();
  };
  const check = async (step: string) => {
    const { manifest } = await store.head('');
    const expected = foldEvents(emptyState(), events);
    const own = (rows: Iterable<Row>, run: string) => [...rows].filter((row) => row.runId === run);
    const snapshot = await readerFor(deps, scope).snapshot();
    const line = manifest.archived_before;
    for (const table of RUN_TABLES) {
      lateListed += Object.keys(manifest.tables[table]).filter(
        (id) => archiveOfShard(id, line) !== null,
      ).length;
      expect(sortedRows(await snapshot.rows(table), table), `${step} rows ${table}`).toEqual(
        sortedRows(expected[table].values(), table),
      );
    }
    for (const { runId, tasks } of runs) {
      for (const table of RUN_TABLES)
        expect(await snapshot.rowsOf(table, runId), `${step} rowsOf ${table}`).toEqual(
          sortedRows(own(expected[table].values(), runId), table),
        );
      const runSlices = expected.runs.get(runId)?.taskSlices;
      const keys = tasks.map((taskKey) => ({ runId, taskKey, runSlices }));
      expect(await snapshot.rowsWithKeys('tasks', keys), `${step} rowsWithKeys`).toEqual(
        sortedRows(own(expected.tasks.values(), runId), 'tasks'),
      );
      const edges = tasks.map((upstreamTaskKey) => ({ runId, upstreamTaskKey, runSlices }));
      expect(await snapshot.rowsInSlicesOf('dep_satisfaction', edges), `${step} rowsInSlicesOf`).toEqual(
        sortedRows(own(expected.dep_satisfaction.values(), runId), 'dep_satisfaction'),
      );
      for (const row of own(expected.dispatch_outbox.values(), runId))
        expect(await snapshot.rowsBeside('dispatch_outbox', row), `${step} rowsBeside`).toContainEqual(row);
    }
    // The runs in progress, as the sweeper reads them, and pages of the newest runs, as GET …/runs
    // reads them: here a run's id (its shard) says nothing of when it was triggered.
    expect(sortedRows(await snapshot.openRows('runs'), 'runs'), `${step} openRows`).toEqual(
      sortedRows([...expected.runs.values()].filter(TABLE_SPECS.runs.open!), 'runs'),
    );
    const sortKey = (row: Row) => [String(row.triggeredAt), String(row.runId)];
    const newestFirst = (a: Row, b: Row) => compareDescThenAsc(sortKey(a), sortKey(b));
    const paged: Row[] = [];
    for (let after: string[] | null = null; ;) {
      const cursor: string[] | null = after;
      const keep = (row: Row) => !cursor || compareDescThenAsc(sortKey(row), cursor) > 0;
      // Pages longer than the shards read at once (8), so whether a page is complete is decided.
      const read = await snapshot.newestRows('runs', 11, keep, cursor?.[0]);
      const page = read.filter(keep).sort(newestFirst).slice(0, 10);
      paged.push(...page);
      if (page.length < 10) break;
      after = sortKey(page.at(-1)!);
    }
    expect(paged, `${step} pages of newestRows`).toEqual([...expected.runs.values()].sort(newestFirst));
    // What a cold start loads.
    const cold = (await store.loadState(await store.allShards(manifest))).state;
    for (const table of RUN_TABLES)
      expect(sortedRows(cold[table].values(), table), `${step} cold start ${table}`).toEqual(
        sortedRows(expected[table].values(), table),
      );
  };
  const lateChanges = (runId: string, taskKey: string): EventData[] => {
    const facts = { runId, taskKey, attempt: 1, attemptId: `att-${taskKey}` };
    const kind = rand();
    if (kind < 0.45)
      return [
        {
          type: 'dispatch_requested',
          ...facts,
          workerQueue: 'q',
          dispatchId: `dispatch:${runId}:${taskKey}:1`,
        },
      ];
    if (kind < 0.8) return [{ type: 'task_started', ...facts, workerId: 'w' }];
    return [{ type: 'task_finished', ...facts, workerId: 'w', outcome: 'succeeded' }];
  };

  for (let step = 0; step < steps; step += 1) {
    const r = rand();
    if (r < 0.2 || runs.length < 2) {
      const ago = Math.floor(rand() * 20) * 86_400_000 + Math.floor(rand() * 24) * 3_600_000;
      const runId = ulid(clock.now().getTime() - ago);
      const tasks = Array.from({ length: pick([3, 40, 70]) }, (_, i) => `k${String(i).padStart(2, '0')}`);
      runs.push({ runId, tasks });
      await append([
        { type: 'run_triggered', runId, planId: `p-${runId}`, trigger: {}, rootAssets: [] },
        {
          type: 'plan_created',
          runId,
          planId: `p-${runId}`,
          tasks: tasks.map((key, i) => ({ key, dependsOn: i % 5 === 4 ? [tasks[i - 1]!] : [] })),
        },
      ]);
    } else if (r < 0.75) {
      const run = pick(runs);
      const count = 1 + Math.floor(rand() * 4);
      await append(Array.from({ length: count }, () => lateChanges(run.runId, pick(run.tasks))).flat());
    } else if (r < 0.9) {
      clock.advance(Math.floor(rand() * maxAdvanceHours) * 3_600_000);
      continue;
    } else {
      resetCompactorCache();
      compactor = new Compactor(compactorDeps(deps, scope));
      continue;
    }
    await drain();
    await check(`step ${step}`);
  }
  // The scenario did exercise shards listed late (a vacuous pass would prove nothing).
  expect(lateListed).toBeGreaterThan(0);

  // The line moves; a rebuild from the ledger then lists what the live compactor lists.
  clock.advance(86_400_000);
  await append([
    {
      type: 'run_triggered',
      runId: deps.ids.next(clock.now().getTime()),
      planId: 'p',
      trigger: {},
      rootAssets: [],
    },
  ]);
  await compactor.drain();
  const live = (await store.head('')).manifest;
  const liveShards = await store.allShards(live);
  await objects.delete(POINTER_PATH);
  resetCompactorCache();
  await objects.put('state/orchestration/rebuilds/dr.json', JSON.stringify({ event_paths: paths }));
  compactor = new Compactor(compactorDeps(deps, scope));
  await compactor.rebuild('state/orchestration/rebuilds/dr.json');
  const rebuilt = (await store.head('')).manifest;
  expect(rebuilt.archived_before).toBe(live.archived_before);
  expect(rebuilt.tables).toEqual(live.tables);
  expect(rebuilt.archives).toEqual(live.archives);
  expect(await store.allShards(rebuilt)).toEqual(liveShards);
  await check('after the rebuild');
  // Late changes folded by the compactor that rebuilt.
  for (const run of runs.slice(0, 3)) {
    await append(lateChanges(run.runId, run.tasks.at(-1)!));
    await compactor.drain();
    await check('late, after the rebuild');
  }
}

describe('month archives and shards listed late, against a pure fold of the ledger', () => {
  for (const seed of [1, 2, 3])
    it(`seed ${seed}: 60 steps, clock moves of up to 30 hours`, () => scenario(seed, 60, 30), 120_000);
  it(
    'seed 11: 160 steps, clock moves of up to 120 hours (idempotency-key retention runs)',
    () => scenario(11, 160, 120),
    300_000,
  );
});
