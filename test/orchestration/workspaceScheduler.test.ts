import { beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../shared/adapters/objectStore.ts';
import type { EventData } from '../../shared/orchestration/state/events.ts';
import { pendingCollection } from '../../shared/orchestration/state/ledger.ts';
import {
  compactorDeps,
  compactorFor,
  ledgerFor,
  readerFor,
} from '../../shared/orchestration/orchestrationServices.ts';
import { Compactor } from '../../shared/orchestration/state/compactor.ts';
import { WorkspaceScheduler } from '../../shared/orchestration/state/workspaceScheduler.ts';
import { POINTER_PATH } from '../../shared/orchestration/state/projectionStore.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { testDependencies, uniqueName } from '../support/testDependencies.ts';

/** An ObjectStore that records when the manifest pointer moved. */
function pointerWatch(inner: ObjectStore) {
  const moves: number[] = [];
  const store: ObjectStore = {
    get: (k) => inner.get(k),
    head: (k) => inner.head(k),
    put: async (k, b, o) => {
      const result = await inner.put(k, b, o);
      if (k.endsWith(POINTER_PATH) && result.status === 'written') moves.push(Date.now());
      return result;
    },
    delete: (k, o) => inner.delete(k, o),
    list: (p, o) => inner.list(p, o),
  };
  return { store, moves };
}

const maxInOneSecond = (times: number[]) => {
  let best = 0;
  for (let i = 0, j = 0; j < times.length; j += 1) {
    while (times[j]! - times[i]! >= 1000) i += 1;
    best = Math.max(best, j - i + 1);
  }
  return best;
};

const facts = (runId: string) => ({
  runId,
  taskKey: 'a',
  attempt: 1,
  attemptId: `att-${runId}`,
  workerId: 'w',
});
const startedRun = (runId: string): EventData[] => [
  { type: 'run_triggered', runId, planId: `p-${runId}`, trigger: {}, rootAssets: ['a'] },
  { type: 'plan_created', runId, planId: `p-${runId}`, tasks: [{ key: 'a', dependsOn: [], assetKey: 'a' }] },
  {
    type: 'dispatch_requested',
    ...facts(runId),
    workerQueue: 'q',
    dispatchId: `dispatch:${runId}:a:1`,
  },
  { type: 'task_started', ...facts(runId) },
];

/** The per-workspace scheduler at the production cadence (one publish per second at most). */
describe('the workspace scheduler publishes on a cadence', () => {
  let deps: Dependencies;
  let moves: number[];
  const scope = { tenant: 'acme', workspace: '' };
  beforeEach(async () => {
    const base = await testDependencies();
    const watch = pointerWatch(base.objects);
    moves = watch.moves;
    deps = await testDependencies(
      { objects: watch.store, config: { ...base.config, publishIntervalMs: 1000 } },
      undefined,
      base.config.bucket,
    );
    scope.workspace = uniqueName('cadence');
  });

  it('moves the pointer at most about once a second under a burst of appends, and loses none of them', async () => {
    const ledger = ledgerFor(deps, scope);
    const started = Date.now();
    const runIds: string[] = [];
    // 40 appends 20 ms apart, each hinted as a Cloud Task would deliver it: a burst however long this
    // machine takes for it (under a loaded suite an append can take far longer than 20 ms).
    while (runIds.length < 40) {
      const runId = `r${runIds.length}`;
      runIds.push(runId);
      const { batchId, paths } = await ledger.append(startedRun(runId).map((data) => ({ data })));
      void compactorFor(deps, scope).hint([{ batchId, paths }]);
      await new Promise((r) => setTimeout(r, 20));
    }
    await compactorFor(deps, scope).drain();
    const seconds = (Date.now() - started) / 1000;
    expect(maxInOneSecond(moves.filter((t) => t >= started))).toBeLessThanOrEqual(2);
    expect(moves.filter((t) => t >= started).length).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    const runs = await (await readerFor(deps, scope).snapshot()).rows('runs');
    expect(runs.map((r) => r.runId).sort()).toEqual([...runIds].sort());
    expect(await deps.documents.count(pendingCollection(scope))).toBe(0);
  });

  it('never publishes for heartbeats alone; they ride with the next change', async () => {
    const ledger = ledgerFor(deps, scope);
    await ledger.append(startedRun('r1').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    const before = moves.length;
    const heartbeat = await ledger.append([
      { data: { type: 'task_heartbeat', ...facts('r1'), heartbeatAt: new Date().toISOString() } },
    ]);
    await compactorFor(deps, scope).hint([{ batchId: heartbeat.batchId, paths: heartbeat.paths }]);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(moves.length).toBe(before);
    const task = async () =>
      (await (await readerFor(deps, scope).snapshot()).rowsOf('tasks', 'r1')).find((t) => t.taskKey === 'a');
    expect((await task())?.lastHeartbeatAt).toBeUndefined();

    const next = await ledger.append([{ data: startedRun('r2')[0]! }]);
    await compactorFor(deps, scope).hint([{ batchId: next.batchId, paths: next.paths }]);
    const deadline = Date.now() + 5_000;
    while (moves.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(moves.length).toBe(before + 1);
    expect((await task())?.lastHeartbeatAt).toEqual(expect.any(String));
  });

  it('goes on folding while a publish is still writing its shards', async () => {
    let releaseShards: () => void = () => {};
    let shardsHeld = false;
    const gate = new Promise<void>((resolve) => (releaseShards = resolve));
    const held: ObjectStore = {
      ...deps.objects,
      get: (k) => deps.objects.get(k),
      head: (k) => deps.objects.head(k),
      delete: (k, o) => deps.objects.delete(k, o),
      list: (p, o) => deps.objects.list(p, o),
      put: async (k, b, o) => {
        if (k.includes('state/orchestration/shards/') && shardsHeld) await gate;
        return deps.objects.put(k, b, o);
      },
    };
    const slow = { ...deps, objects: held } as Dependencies;
    // Hinted by hand, to `slow`'s scheduler only.
    const ledger = ledgerFor(slow, scope, { hint: false });
    const first = await ledger.append(startedRun('r1').map((data) => ({ data })));
    await compactorFor(slow, scope).hint([{ batchId: first.batchId, paths: first.paths }]);
    await compactorFor(slow, scope).drain();
    const published = moves.length;

    shardsHeld = true;
    const second = await ledger.append(startedRun('r2').map((data) => ({ data })));
    await compactorFor(slow, scope).hint([{ batchId: second.batchId, paths: second.paths }]);
    // The publish of r2 starts on the cadence and stays on its shard writes.
    await new Promise((r) => setTimeout(r, 1_300));
    expect(moves.length).toBe(published);
    const third = await ledger.append(startedRun('r3').map((data) => ({ data })));
    const folded = await Promise.race([
      compactorFor(slow, scope).hint([{ batchId: third.batchId, paths: third.paths }]),
      new Promise((r) => setTimeout(() => r('timed out'), 3_000)),
    ]);
    expect(folded).toBe(true);
    expect(moves.length).toBe(published);

    shardsHeld = false;
    releaseShards();
    await compactorFor(slow, scope).drain();
    const runs = await (await readerFor(slow, scope).snapshot()).rows('runs');
    expect(runs.map((r) => r.runId).sort()).toEqual(['r1', 'r2', 'r3']);
    expect(await slow.documents.count(pendingCollection(scope))).toBe(0);
  });

  it('takes batches that woke no one (task starts) into the publish that is due, not one of their own', async () => {
    // Scans of its own only once a minute: what folds the unhinted start is the publish's own scan.
    const scheduler = new WorkspaceScheduler(
      new Compactor(compactorDeps(deps, scope)),
      deps.clock,
      deps.log,
      {
        publishIntervalMs: 1000,
        scanIntervalMs: 60_000,
      },
    );
    const ledger = ledgerFor(deps, scope, { hint: false });
    await ledger.append(
      startedRun('r1')
        .slice(0, 3)
        .map((data) => ({ data })),
    );
    await scheduler.drain();
    const before = moves.length;
    const trigger = await ledger.append([{ data: startedRun('r2')[0]! }]);
    expect(await scheduler.hint([{ batchId: trigger.batchId, paths: trigger.paths }])).toBe(true);
    // Appended after that session's first scan, and never hinted.
    await ledger.append([{ data: startedRun('r1')[3]! }]);
    const deadline = Date.now() + 5_000;
    while (moves.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const snapshot = await readerFor(deps, scope).snapshot();
    expect((await snapshot.rowsOf('runs', 'r2')).map((r) => r.runId)).toEqual(['r2']);
    expect((await snapshot.rowsOf('tasks', 'r1')).map((t) => t.state)).toEqual(['RUNNING']);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(moves.length).toBe(before + 1);
    expect(await deps.documents.count(pendingCollection(scope))).toBe(0);
  });
});
