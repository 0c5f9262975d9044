import { PerformanceObserver } from 'node:perf_hooks';
import { benchDependencies } from './benchDependencies.ts';
import { monotonicFactory } from 'ulid';
import { scopedObjectStore } from '../shared/adapters/scopedObjectStore.ts';
import type { ObjectStore } from '../shared/adapters/objectStore.ts';
import type { Ledger } from '../shared/orchestration/state/ledger.ts';
import { dispatchRequest } from '../shared/orchestration/run/dispatchController.ts';
import { canonicalJson } from '../shared/core/canonicalJson.ts';
import { Compactor, resetCompactorCache } from '../shared/orchestration/state/compactor.ts';
import { type EventData, envelope, type OrchestrationEvent } from '../shared/orchestration/state/events.ts';
import { foldEvents } from '../shared/orchestration/state/evolve.ts';
import { compactorDeps, compactorFor, ledgerFor } from '../shared/orchestration/orchestrationServices.ts';
import {
  emptyManifest,
  type Manifest,
  manifestPath,
  POINTER_PATH,
  ProjectionStore,
} from '../shared/orchestration/state/projectionStore.ts';
import {
  emptyState,
  type FoldState,
  type Row,
  shardOfRow,
  TABLES,
  type TableName,
} from '../shared/orchestration/state/projectionTables.ts';
import { ProjectionReader } from '../shared/orchestration/state/projectionReader.ts';
import { waitUntilVisible } from '../shared/orchestration/state/visibility.ts';
import { fmt, percentile } from './benchStack.ts';

/** One run of a two-asset pipeline; `a` is daily partitioned (`date=` the run's UTC day). */
function runEvents(runId: string, day = new Date().toISOString().slice(0, 10)): EventData[] {
  const attemptId = `att-${runId}`;
  return [
    { type: 'run_triggered', runId, planId: `p-${runId}`, trigger: {}, rootAssets: ['a'] },
    {
      type: 'plan_created',
      runId,
      planId: `p-${runId}`,
      tasks: [
        { key: 'a', dependsOn: [], assetKey: 'a', partitionKey: `date=${day}` },
        { key: 'b', dependsOn: ['a'] },
      ],
    },
    {
      type: 'dispatch_requested',
      runId,
      taskKey: 'a',
      attempt: 1,
      attemptId,
      workerQueue: 'q',
      dispatchId: `dispatch:${runId}:a:1`,
    },
    { type: 'task_started', runId, taskKey: 'a', attempt: 1, attemptId, workerId: 'w' },
    {
      type: 'task_finished',
      runId,
      taskKey: 'a',
      attempt: 1,
      attemptId,
      workerId: 'w',
      outcome: 'succeeded',
      output: { deltaTable: 'a', deltaVersion: 1 },
    },
  ];
}

/** `runs` runs spread evenly over `days` days before `endMs`; run ids are ULIDs of their start, as the API mints them. */
function syntheticEvents(
  runs: number,
  scope: { tenant: string; workspace: string },
  endMs: number,
  days: number,
): OrchestrationEvent[] {
  const ulid = monotonicFactory();
  const events: OrchestrationEvent[] = [];
  const step = (days * 86_400_000) / runs;
  for (let r = 0; r < runs; r += 1) {
    const at = Math.floor(endMs - days * 86_400_000 + r * step);
    const runId = ulid(at);
    for (const data of runEvents(runId, new Date(at).toISOString().slice(0, 10)))
      events.push(
        envelope({
          eventId: ulid(at),
          tenantId: scope.tenant,
          workspaceId: scope.workspace,
          timestamp: new Date(at),
          data,
        }),
      );
  }
  return events;
}

const rowCount = (state: FoldState) => TABLES.reduce((n, t) => n + state[t].size, 0);

/** Publishes a whole state as manifest 1, as if history had been compacted before the benchmark. */
async function seed(store: ProjectionStore, state: FoldState, lastEventId: string) {
  const manifest: Manifest = emptyManifest(new Date().toISOString());
  for (const table of TABLES) {
    const shards = new Map<string, Row[]>();
    for (const row of state[table].values()) {
      const shard = shardOfRow(table, row);
      if (!shards.has(shard)) shards.set(shard, []);
      shards.get(shard)!.push(row);
    }
    for (const [shard, rows] of shards)
      manifest.tables[table as TableName][shard] = (await store.writeShard(table, shard, rows))!;
  }
  const published = {
    ...manifest,
    manifest_id: '00000000000000000001',
    epoch: 0,
    revision_ulid: lastEventId,
    watermarks: {
      last_committed_event_id: lastEventId,
      last_visible_event_id: lastEventId,
      events_processed_through: lastEventId,
      last_processed_at: new Date().toISOString(),
    },
  };
  return { published, path: manifestPath(1) };
}

/**
 * A late change to a run 50 days old (a long backfill's, a late retry): what its publish writes
 * besides its shards, any archive written again and the growth of the manifest's own listing
 * (shardArchives.ts). Returns the clause the summary line prints.
 */
async function lateChangeCost(
  store: ProjectionStore,
  objects: ObjectStore,
  compactor: Compactor,
  ledger: Ledger,
  history: FoldState,
): Promise<string> {
  const oldRun = [...history.runs.keys()].sort()[Math.floor(history.runs.size / 2)]!;
  const before = (await store.head('')).manifest;
  await ledger.append([{ data: dispatchRequest(oldRun, 'b', 1) }]);
  await compactor.drain(600_000);
  const after = (await store.head('')).manifest;
  const rewritten = TABLES.flatMap((table) =>
    Object.entries(after.archives?.[table] ?? {})
      .filter(([month, ref]) => before.archives?.[table]?.[month]?.path !== ref.path)
      .map(([, ref]) => ref.path),
  );
  let archiveKb = 0;
  for (const path of rewritten) archiveKb += (await objects.get(path))!.bytes.length / 1024;
  const listingGrowthKb =
    (Buffer.byteLength(canonicalJson(after.tables)) - Buffer.byteLength(canonicalJson(before.tables))) / 1024;
  return `; a change to a run 50 days old rewrote ${rewritten.length} archives (${fmt(archiveKb, 0)} KB) and grew the manifest's own listing by ${fmt(listingGrowthKb, 1)} KB`;
}

/**
 * What `GET …/runs` reads for its first page (20 runs) over the published history: the shards it reads
 * and its time, against reading the whole `runs` table as it did before shards recorded the range of
 * their runs' `triggeredAt` (the baseline, read after it: the shards the page read are cached by then,
 * so the baseline reads the others). Returns the clause
 * the summary line prints.
 */
async function firstPageCost(objects: ObjectStore): Promise<string> {
  let reads = 0;
  const counting = Object.assign(Object.create(objects) as ObjectStore, {
    get: (key: string) => ((reads += 1), objects.get(key)),
  });
  const snapshot = await new ProjectionReader(counting, `first-page-${Date.now()}`).snapshot();
  const listed = Object.keys(
    await new ProjectionStore(objects).tableShards(snapshot.manifest!, 'runs'),
  ).length;
  reads = 0;
  let started = performance.now();
  const page = await snapshot.newestRows('runs', 21, () => true);
  const pageMs = performance.now() - started;
  const pageReads = reads;
  reads = 0;
  started = performance.now();
  const all = await snapshot.rows('runs');
  const allMs = performance.now() - started;
  return `; the first page of runs read ${pageReads} objects of ${listed} runs shards in ${fmt(pageMs, 0)} ms (${page.length} runs), the whole table ${reads} more in ${fmt(allMs, 0)} ms (${all.length} runs): ratio ${fmt(pageMs / allMs, 3)}`;
}

export async function benchStateStore(): Promise<void> {
  // Garbage collection pauses of this process, ms: what a larger warm state costs a compaction.
  let gcMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const deps = await benchDependencies('state', 'bench');

  // 1. The pure fold.
  const foldScope = { tenant: 'bench', workspace: 'fold' };
  const foldInput = syntheticEvents(4000, foldScope, Date.now() - 86_400_000, 1);
  let started = performance.now();
  const folded = foldEvents(emptyState(), foldInput);
  const foldSeconds = (performance.now() - started) / 1000;
  console.log(
    `fold: ${fmt(foldInput.length / foldSeconds, 0)} events/s (${foldInput.length} events → ${rowCount(folded)} rows in ${fmt(foldSeconds * 1000, 0)} ms)`,
  );

  // 2. Compaction of 1 000 new events over small and large histories, and over a busy day: 20 000
  // runs created in the last few hours, whose day-wide run shards the new runs share.
  const timings: Record<string, { cold: number; warm: number; rows: number }> = {};
  for (const [label, historyRuns, days] of [
    ['1e3', 112, 100],
    ['1e6', 112_000, 100],
    ['busy day', 20_000, 0.2],
  ] as const) {
    const scope = { tenant: 'bench', workspace: `history-${label.replace(' ', '-')}` };
    const objects = scopedObjectStore(deps.objects, scope);
    const historyEvents = syntheticEvents(
      historyRuns,
      scope,
      Date.now() - (days > 1 ? 86_400_000 : 60_000),
      days,
    );
    const history = foldEvents(emptyState(), historyEvents);
    const { published, path } = await seed(
      new ProjectionStore(objects),
      history,
      historyEvents.at(-1)!.eventId,
    );
    await objects.put(path, canonicalJson(published), { ifGenerationMatch: 0 });
    await objects.put(
      POINTER_PATH,
      canonicalJson({
        manifest_id: published.manifest_id,
        manifest_path: path,
        epoch: 0,
        updated_at: new Date().toISOString(),
      }),
      { ifGenerationMatch: 0 },
    );
    resetCompactorCache();
    // A compactor of its own, without the workspace scheduler: nothing folds the new events in the
    // background, so each drain measures all of them (the appends send no hints either).
    const compactor = new Compactor(compactorDeps(deps, scope));
    const ledger = ledgerFor(deps, scope, { hint: false });
    await ledger.append(runEvents(deps.ids.next()).map((data) => ({ data })));
    started = performance.now();
    await compactor.drain(600_000);
    const cold = performance.now() - started;
    const store = new ProjectionStore(objects);
    const { manifest } = await store.head('');
    const artifacts = Object.values(await store.allShards(manifest)).flatMap((shards) =>
      Object.values(shards),
    );
    const kept = artifacts.reduce((n, artifact) => n + artifact.rows, 0);
    // Every publish rewrites the whole manifest: the shards it lists itself and one entry per archived
    // day (shardArchives.ts), whose own shards it does not list.
    const manifestKb = Buffer.byteLength(canonicalJson(manifest)) / 1024;
    const ownShards = Object.values(manifest.tables).reduce((n, shards) => n + Object.keys(shards).length, 0);
    const archiveCount = Object.values(manifest.archives ?? {}).reduce(
      (n, days) => n + Object.keys(days ?? {}).length,
      0,
    );
    for (let r = 0; r < 200; r += 1)
      await ledger.append(runEvents(deps.ids.next()).map((data) => ({ data })));
    const gcBefore = gcMs;
    started = performance.now();
    const result = await compactor.drain(600_000);
    const warm = performance.now() - started;
    const gcDuring = gcMs - gcBefore;
    timings[label] = { cold, warm: warm / Math.max(1, result.events_processed), rows: rowCount(history) };
    const late = days > 1 ? await lateChangeCost(store, objects, compactor, ledger, history) : '';
    const firstPage = historyRuns > 100_000 ? await firstPageCost(objects) : '';
    console.log(
      `compaction, ${rowCount(history)} historical rows over ${days > 1 ? `${days} days` : 'the last hours'} (${kept} kept after retention): ` +
        `${result.events_processed} new events in ${fmt(warm, 0)} ms warm, ${fmt(gcDuring, 0)} ms of it in garbage collection ` +
        `(first compaction after a cold start, loading the history: ${fmt(cold, 0)} ms); ` +
        `the manifest each publish rewrites is ${fmt(manifestKb, 0)} KB: ${ownShards} shards of its own and ` +
        `${archiveCount} month archives listing ${artifacts.length - ownShards} more${late}${firstPage}`,
    );
    compactor.forget();
  }
  console.log(
    `compaction ratio 1e6 / 1e3 history (warm, ms per new event): ${fmt(timings['1e6']!.warm / timings['1e3']!.warm, 2)}`,
  );
  // Not bounded yet: a run shard holds a whole day (docs/visibility.md), so this grows with the day's runs.
  console.log(
    `compaction ratio busy day / 1e3 history (warm, ms per new event): ${fmt(timings['busy day']!.warm / timings['1e3']!.warm, 2)}`,
  );

  // 3. Pointer moves and visibility lag under a sustained append load.
  const loadScope = { tenant: 'bench', workspace: 'load' };
  resetCompactorCache();
  const loadLedger = ledgerFor(deps, loadScope, { hint: false });
  const writers = 8;
  const durationMs = Number(process.env.ARCO_BENCH_LOAD_MS ?? 10_000);
  const lags: number[] = [];
  let notVisible = 0;
  started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      let n = 0;
      while (performance.now() - started < durationMs) {
        const t0 = performance.now();
        const appended = await loadLedger.append(
          runEvents(`l${w}-${n++}`)
            .slice(0, 1)
            .map((data) => ({ data })),
        );
        // The hint the compaction function would get from Cloud Tasks, handed to it in this process.
        // A failed fold shows as not visible below; its pending record brings the batch back.
        void compactorFor(deps, loadScope)
          .hint([{ batchId: appended.batchId, paths: appended.paths }])
          .catch(() => {});
        const visibility_status = await waitUntilVisible(deps, loadScope, appended.batchId, Date.now(), 5000);
        if (visibility_status === 'visible') lags.push(performance.now() - t0);
        else notVisible += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const pointer = JSON.parse(
    (await scopedObjectStore(deps.objects, loadScope).get(POINTER_PATH))!.bytes.toString(),
  ) as { manifest_id: string };
  const moves = Number(pointer.manifest_id);
  console.log(
    `sustained appends (${writers} writers, ${fmt(seconds, 1)} s): ${lags.length + notVisible} appends, ${fmt(moves / seconds, 1)} pointer moves/s, ` +
      `${fmt((lags.length + notVisible) / moves, 1)} appends per move; visibility lag p50 ${fmt(percentile(lags, 50), 0)} ms, ` +
      `p95 ${fmt(percentile(lags, 95), 0)} ms; ${notVisible} answered persisted_not_visible`,
  );
  gcObserver.disconnect();
}
