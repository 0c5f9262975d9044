import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Scope } from '../../shared/auth/principal.ts';
import { ulid } from 'ulid';
import { ManualClock } from '../../shared/adapters/clock.ts';
import type { ObjectStore } from '../../shared/adapters/objectStore.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { canonicalJson } from '../../shared/core/canonicalJson.ts';
import { sha256Hex } from '../../shared/core/hashing.ts';
import { CompactionLease } from '../../shared/orchestration/state/compactionLease.ts';
import {
  Compactor,
  LeaseBusyError,
  resetCompactorCache,
} from '../../shared/orchestration/state/compactor.ts';
import {
  defaultIdempotencyKey,
  envelope,
  type EventData,
  ledgerPath,
} from '../../shared/orchestration/state/events.ts';
import {
  type AppendInput,
  LedgerConflictError,
  pendingCollection,
} from '../../shared/orchestration/state/ledger.ts';
import {
  compactorDeps,
  compactorFor,
  ledgerFor,
  readerFor,
} from '../../shared/orchestration/orchestrationServices.ts';
import {
  LISTING_VERSION,
  type Manifest,
  type Pointer,
  POINTER_PATH,
  ProjectionStore,
} from '../../shared/orchestration/state/projectionStore.ts';
import { ProjectionSnapshot } from '../../shared/orchestration/state/projectionReader.ts';
import { compareDescThenAsc } from '../../shared/http/keysetPage.ts';
import {
  type Row,
  shardOf,
  shardOfRow,
  TABLES,
  type TableName,
} from '../../shared/orchestration/state/projectionTables.ts';
import { appendVisible } from '../../shared/orchestration/state/visibility.ts';
import { WorkspaceScheduler } from '../../shared/orchestration/state/workspaceScheduler.ts';
import { dispatchRequest } from '../../shared/orchestration/run/dispatchController.ts';
import { COMPACTION_HINT_QUEUE } from '../../shared/runtime/resources.ts';
import { runEvents, workerAttempt } from '../support/eventFactory.ts';
import { inMemoryDependencies } from '../support/inMemoryDependencies.ts';

// The state store's domain behaviour on the in-memory adapters: no emulator, no Java (compactor.test.ts keeps
// what needs the emulator-backed stores: shards, fencing, rebuild, visibility).

describe('ledger and compactor on the in-memory adapters', () => {
  let deps: ReturnType<typeof inMemoryDependencies>;
  let objects: ObjectStore;
  let scope: { tenant: string; workspace: string };
  let workspaces = 0;

  beforeEach(() => {
    deps = inMemoryDependencies({ overrides: { clock: new ManualClock(new Date()) } });
    // A workspace per test although the stores are fresh: ProjectionReader caches snapshots and manifests
    // module-wide by workspace (and manifest path), so a reused name could read an earlier test's rows.
    scope = { tenant: 'acme', workspace: `memory${(workspaces += 1)}` };
    objects = scopedObjectStore(deps.objects, scope);
    // As compactor.test.ts: forget the compactor's process-wide warm state.
    resetCompactorCache();
  });

  /** Writes `manifest` at `path` and points the pointer at it: what another release would have published. */
  const publishAs = async (path: string, manifest: object) => {
    await objects.put(path, canonicalJson(manifest));
    const pointer = (await objects.get(POINTER_PATH))!;
    await objects.put(
      POINTER_PATH,
      JSON.stringify({ ...(JSON.parse(pointer.bytes.toString()) as Pointer), manifest_path: path }),
      { ifGenerationMatch: pointer.generation },
    );
  };

  const tablesOf = async () => {
    const snapshot = await readerFor(deps, scope).snapshot();
    return Object.fromEntries(
      await Promise.all(TABLES.map(async (t) => [t, await snapshot.rows(t)] as const)),
    ) as Record<TableName, Row[]>;
  };
  const readJson = async <T>(key: string) => JSON.parse((await objects.get(key))!.bytes.toString()) as T;

  it('appends create-only canonical events, folds them, and publishes through the pointer', async () => {
    const lists = vi.spyOn(deps.memory.objects, 'list');
    const { events, batchId } = await ledgerFor(deps, scope, { hint: false }).append(
      runEvents('r1').map((data) => ({ data })),
    );
    expect((await objects.get(ledgerPath(events[0]!)))!.bytes.toString()).toBe(canonicalJson(events[0]));
    expect(await deps.documents.get(`${pendingCollection(scope)}/${batchId}`)).not.toBeNull();

    const result = await compactorFor(deps, scope).drain();
    expect(result).toMatchObject({
      events_processed: 5,
      manifest_id: '00000000000000000001',
      visibility_status: 'visible',
    });
    expect(await deps.documents.get(`${pendingCollection(scope)}/${batchId}`)).toBeNull();
    const pointer = await readJson<Pointer>(POINTER_PATH);
    const manifest = await readJson<Manifest>(pointer.manifest_path);
    expect(manifest.watermarks).toMatchObject({
      last_visible_event_id: events.at(-1)!.eventId,
      last_processed_file: ledgerPath(events.at(-1)!),
    });
    const tables = await tablesOf();
    expect(tables.runs).toHaveLength(1);
    expect(tables.tasks.map((t) => [t.taskKey, t.state])).toEqual([
      ['a', 'SUCCEEDED'],
      ['b', 'READY'],
    ]);
    expect(tables.partition_status[0]).toMatchObject({ assetKey: 'a', deltaVersion: 3 });
    // Everything lives under the workspace's prefix of the one bucket.
    const prefix = `tenant=acme/workspace=${scope.workspace}/`;
    expect(deps.memory.objects.keys().filter((key) => !key.startsWith(prefix))).toEqual([]);
    // No correctness path lists the bucket.
    expect(lists).not.toHaveBeenCalled();
  });

  it('publishes after a cold start whose loading of the published state outlasts the lease', async () => {
    const ledger = ledgerFor(deps, scope, { hint: false });
    await ledger.append(runEvents('r1').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    // A new instance: it loads the published shards, and this load takes longer than a lease lives.
    resetCompactorCache();
    const clock = deps.clock as ManualClock;
    const get = deps.memory.objects.get.bind(deps.memory.objects);
    vi.spyOn(deps.memory.objects, 'get').mockImplementation(async (key) => {
      if (key.includes('/shards/')) clock.advance(31_000);
      return get(key);
    });
    await ledger.append(runEvents('r2').map((data) => ({ data })));
    const result = await compactorFor(deps, scope).drain();
    expect(result).toMatchObject({ manifest_id: '00000000000000000002', visibility_status: 'visible' });
    expect((await tablesOf()).runs.map((r) => r.runId).sort()).toEqual(['r1', 'r2']);
  });

  it('loads nothing while another instance holds the lease: its holder folds the work', async () => {
    const ledger = ledgerFor(deps, scope, { hint: false });
    await ledger.append(runEvents('r1').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    resetCompactorCache();
    // Past this process's lease, whether or not its session has let go yet.
    (deps.clock as ManualClock).advance(31_000);
    expect(
      await new CompactionLease(deps.documents, scope, deps.clock, 'another-instance').acquire(),
    ).not.toBeNull();
    const gets = vi.spyOn(deps.memory.objects, 'get');
    await ledger.append(runEvents('r2').map((data) => ({ data })));
    await expect(compactorFor(deps, scope).drain()).rejects.toThrow(LeaseBusyError);
    expect(gets).not.toHaveBeenCalled();
  });

  it('deletes a pending record that outlived its publish once a scan finds it, and nothing for a late hint', async () => {
    const { batchId, paths } = await ledgerFor(deps, scope, { hint: false }).append(
      runEvents('r1').map((data) => ({ data })),
    );
    await compactorFor(deps, scope).drain();
    const record = `${pendingCollection(scope)}/${batchId}`;
    expect(await deps.documents.get(record)).toBeNull();
    const deletes = vi.spyOn(deps.documents, 'deleteMany');

    // The hint of a published batch arrives late: its publish deleted the record, nothing is left to delete.
    await compactorFor(deps, scope).hint([{ batchId, paths }]);
    expect(deletes).not.toHaveBeenCalled();

    // The publish's delete failed: the record is back, and the next scan deletes it.
    await deps.documents.set(record, { batchId, paths, createdAt: new Date().toISOString() });
    await compactorFor(deps, scope).hint();
    expect(deletes).toHaveBeenCalledWith([record]);
    expect(await deps.documents.get(record)).toBeNull();
  });

  it('leaves the pending records a publish is deleting to it: a scan meanwhile neither reads them as work nor deletes them', async () => {
    const { batchId } = await ledgerFor(deps, scope, { hint: false }).append(
      runEvents('r1').map((data) => ({ data })),
    );
    const deleteMany = deps.documents.deleteMany.bind(deps.documents);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let publishDeleting!: () => void;
    const deleting = new Promise<void>((resolve) => (publishDeleting = resolve));
    const deletes = vi.spyOn(deps.documents, 'deleteMany').mockImplementation(async (paths) => {
      publishDeleting();
      await held;
      return deleteMany(paths);
    });
    const drained = compactorFor(deps, scope).drain();
    await deleting;
    const scanned = compactorFor(deps, scope).hint();
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await Promise.all([scanned, drained]);
    expect(deletes).toHaveBeenCalledTimes(1);
    expect(await deps.documents.get(`${pendingCollection(scope)}/${batchId}`)).toBeNull();
  });

  it('prunes idempotency keys by whole hour shards a grace day after their 30-day window closed', async () => {
    const clock = deps.clock as ManualClock;
    const ledger = ledgerFor(deps, scope, { hint: false });
    const keys = async () => (await tablesOf()).idempotency_keys.map((row) => String(row.eventId));
    // Archived days' shards included (shardArchives.ts): retention must remove them, not just list them elsewhere.
    const publishedShards = async () =>
      Object.keys(
        (
          await new ProjectionStore(objects).allShards(
            await readJson<Manifest>((await readJson<Pointer>(POINTER_PATH)).manifest_path),
          )
        ).idempotency_keys,
      );
    await ledger.append(runEvents('early').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    const early = await keys();
    const earlyShards = await publishedShards();
    expect(early.length).toBeGreaterThan(0);

    clock.advance(29 * 86_400_000);
    await ledger.append(runEvents('day29').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    expect(await keys()).toEqual(expect.arrayContaining(early));

    // Past the window (30 days) but within the grace day: kept.
    clock.advance(2 * 86_400_000);
    await ledger.append(runEvents('day31').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    expect(await keys()).toEqual(expect.arrayContaining(early));

    clock.advance(86_400_000 + 3_600_000);
    await ledger.append(runEvents('day32').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    const left = await keys();
    expect(left.filter((id) => early.includes(id))).toEqual([]);
    expect(left.length).toBeGreaterThan(0);
    expect((await publishedShards()).filter((shard) => earlyShards.includes(shard))).toEqual([]);
  });

  it('lists the shards of days before yesterday in month archives; reads, later changes, cold starts and a rebuild see them as before', async () => {
    const clock = deps.clock as ManualClock;
    const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
    const day = dayOf(clock.now().getTime());
    const month = day.slice(0, 6);
    const ledger = ledgerFor(deps, scope, { hint: false });
    const oldRun = deps.ids.next(clock.now().getTime());
    const paths: string[] = [];
    const append = async (events: EventData[]) =>
      paths.push(...(await ledger.append(events.map((data) => ({ data })))).paths);
    await append(runEvents(oldRun));
    await compactorFor(deps, scope).drain();
    const head = async () => new ProjectionStore(objects).head('');
    expect((await head()).manifest.archives).toBeUndefined();

    clock.advance(3 * 86_400_000);
    const today = dayOf(clock.now().getTime());
    let line = dayOf(clock.now().getTime() - 86_400_000);
    const newRun = deps.ids.next(clock.now().getTime());
    await append(runEvents(newRun));
    await compactorFor(deps, scope).drain();
    let { manifest } = await head();
    expect(manifest.archived_before).toBe(line);
    // The old run's shards left the manifest for its month's archives; the new run's stayed.
    for (const table of ['runs', 'tasks', 'dep_satisfaction', 'idempotency_keys'] as const) {
      expect(
        Object.keys(manifest.tables[table]).some((id) => id.startsWith(`t${day}`)),
        table,
      ).toBe(false);
      expect(
        Object.keys(manifest.tables[table]).some((id) => id.startsWith(`t${today}`)),
        table,
      ).toBe(true);
      expect(manifest.archives?.[table]?.[month], table).toBeDefined();
    }
    expect(manifest.archives!.runs![month]!.rows).toBe(1);
    const tasksArchive = manifest.archives!.tasks![month]!;
    const archivesBefore = manifest.archives;
    // Read through the archive: one run, its tasks, every table.
    let snapshot = await readerFor(deps, scope).snapshot();
    expect((await snapshot.rowsOf('runs', oldRun)).map((r) => r.state)).toEqual(['RUNNING']);
    expect((await snapshot.rowsOf('tasks', oldRun)).map((r) => [r.taskKey, r.state])).toEqual([
      ['a', 'SUCCEEDED'],
      ['b', 'READY'],
    ]);
    expect((await snapshot.rows('runs')).map((r) => r.runId).sort()).toEqual([newRun, oldRun].sort());

    // A late change to the old run, after a cold start loaded it: the manifest lists that shard itself
    // (every slice of it) and no archive is written again.
    resetCompactorCache();
    const dispatch = dispatchRequest(oldRun, 'b', 1) as Extract<EventData, { type: 'dispatch_requested' }>;
    await append([dispatch]);
    await compactorFor(deps, scope).drain();
    ({ manifest } = await head());
    expect(manifest.archives).toEqual(archivesBefore);
    expect(Object.keys(manifest.tables.tasks).some((id) => id.startsWith(`t${day}`))).toBe(true);
    snapshot = await readerFor(deps, scope).snapshot();
    const oldTasks = [
      ['a', 'SUCCEEDED'],
      ['b', 'DISPATCHED'],
    ];
    expect((await snapshot.rowsOf('tasks', oldRun)).map((r) => [r.taskKey, r.state])).toEqual(oldTasks);
    expect(
      (await snapshot.rows('tasks')).filter((r) => r.runId === oldRun).map((r) => [r.taskKey, r.state]),
    ).toEqual(oldTasks);
    // A cold start reads the manifest's listing of that shard, not the archive's older one.
    resetCompactorCache();
    await append([
      {
        type: 'task_started',
        runId: oldRun,
        taskKey: 'b',
        attempt: 1,
        attemptId: dispatch.attemptId,
        workerId: 'w',
      },
    ]);
    await compactorFor(deps, scope).drain();
    ({ manifest } = await head());
    expect(manifest.archives).toEqual(archivesBefore);
    snapshot = await readerFor(deps, scope).snapshot();
    expect((await snapshot.rowsOf('tasks', oldRun)).map((r) => [r.taskKey, r.state])).toEqual([
      ['a', 'SUCCEEDED'],
      ['b', 'RUNNING'],
    ]);

    // The next day the line moves, and the month's archive takes the shard back.
    clock.advance(86_400_000);
    line = dayOf(clock.now().getTime() - 86_400_000);
    await append(runEvents(deps.ids.next(clock.now().getTime())));
    await compactorFor(deps, scope).drain();
    ({ manifest } = await head());
    expect(manifest.archived_before).toBe(line);
    expect(Object.keys(manifest.tables.tasks).some((id) => id.startsWith(`t${day}`))).toBe(false);
    expect(manifest.archives!.tasks![month]!.path).not.toBe(tasksArchive.path);
    snapshot = await readerFor(deps, scope).snapshot();
    expect((await snapshot.rowsOf('tasks', oldRun)).map((r) => [r.taskKey, r.state])).toEqual([
      ['a', 'SUCCEEDED'],
      ['b', 'RUNNING'],
    ]);

    // Disaster: the projections go, the ledger stays. A rebuild lists the same shards and archives.
    const before = await new ProjectionStore(objects).allShards(manifest);
    const archives = manifest.archives;
    await objects.delete(POINTER_PATH);
    resetCompactorCache();
    await objects.put('state/orchestration/rebuilds/dr.json', JSON.stringify({ event_paths: paths }));
    await compactorFor(deps, scope).rebuild('state/orchestration/rebuilds/dr.json');
    const rebuilt = (await head()).manifest;
    expect(rebuilt.archives).toEqual(archives);
    expect(rebuilt.archived_before).toBe(line);
    expect(await new ProjectionStore(objects).allShards(rebuilt)).toEqual(before);
  });

  it('refuses to compact on a manifest of a schema or listing version it does not know, and publishes nothing', async () => {
    const ledger = ledgerFor(deps, scope, { hint: false });
    await ledger.append(runEvents('r1').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    const store = new ProjectionStore(objects);
    const published = await store.head('');
    expect(published.manifest.listing_version).toBe(LISTING_VERSION);
    for (const newer of [{ listing_version: LISTING_VERSION + 1 }, { schema_version: 3 as unknown as 2 }]) {
      // What a later release would publish: this one would misread its listing and fold stale rows.
      const path = `state/orchestration/manifests/newer-${Object.keys(newer)[0]}.json`;
      await publishAs(path, { ...published.manifest, ...newer });
      resetCompactorCache();
      const { batchId } = await ledger.append(runEvents(`r-${path}`).map((data) => ({ data })));
      await expect(compactorFor(deps, scope).drain()).rejects.toThrow(/roll forward, or rebuild/);
      expect((await store.head('')).pointer!.manifest_path).toBe(path);
      expect(await deps.documents.get(`${pendingCollection(scope)}/${batchId}`)).not.toBeNull();
    }
  });

  it('treats a repeated append of the same event as harmless and a changed one as a conflict', async () => {
    const ledger = ledgerFor(deps, scope, { hint: false });
    const { events } = await ledger.append([{ data: runEvents('r1')[0]! }]);
    await ledger.appendEvents(events);
    await expect(
      ledger.appendEvents([{ ...events[0]!, data: { ...events[0]!.data, rootAssets: ['x'] } as EventData }]),
    ).rejects.toThrow(LedgerConflictError);
    await compactorFor(deps, scope).drain();
    expect((await tablesOf()).runs).toHaveLength(1);
  });

  it('makes a mutation visible through its hint, delivered in-process as Cloud Tasks would', async () => {
    const { visibility_status } = await appendVisible(
      deps,
      scope,
      runEvents('r2').map((data) => ({ data })),
      5_000,
    );
    expect(visibility_status).toBe('visible');
    expect(deps.memory.tasks.tasksOf(COMPACTION_HINT_QUEUE)).toHaveLength(1);
    expect(deps.memory.tasks.tasksOf(COMPACTION_HINT_QUEUE)[0]!.body).toMatchObject(scope);
    const snapshot = await readerFor(deps, scope).snapshot();
    expect((await snapshot.rows('runs')).map((r) => r.runId)).toEqual(['r2']);
  });

  it('reads one run from the slices that hold its rows, and coalesces concurrent pointer and manifest reads', async () => {
    const tasks = Array.from({ length: 200 }, (_, i) => ({
      key: `t${String(i).padStart(3, '0')}`,
      dependsOn: i ? ['t000'] : [],
    }));
    const plan = (runId: string, keys: typeof tasks) =>
      [
        { data: { type: 'run_triggered', runId, planId: `p-${runId}`, trigger: {}, rootAssets: ['t000'] } },
        { data: { type: 'plan_created', runId, planId: `p-${runId}`, tasks: keys } },
      ] as Array<{ data: EventData }>;
    await ledgerFor(deps, scope, { hint: false }).append([
      ...plan('big', tasks),
      ...plan('small', tasks.slice(0, 2)),
    ]);
    await compactorFor(deps, scope).drain();

    // A manifest takes longer to read than the pointer, as a large object does: callers that see the
    // pointer while the first caller still reads its manifest must wait for that read, not start their own.
    const read = deps.memory.objects.get.bind(deps.memory.objects);
    const gets = vi.spyOn(deps.memory.objects, 'get').mockImplementation(async (key) => {
      await new Promise((resolve) => setTimeout(resolve, key.includes('/manifests/') ? 20 : 1));
      return read(key);
    });
    const snapshots = await Promise.all(Array.from({ length: 20 }, () => readerFor(deps, scope).snapshot()));
    const pointerReads = gets.mock.calls.filter(([key]) => key.endsWith(POINTER_PATH)).length;
    // Each caller's read started after it asked; the twenty shared at most two reads.
    expect(pointerReads).toBeLessThanOrEqual(2);
    // …and one read of the manifest the pointer names, not one each.
    expect(gets.mock.calls.filter(([key]) => key.includes('/manifests/'))).toHaveLength(1);
    expect(new Set(snapshots.map((s) => s.manifest?.manifest_id)).size).toBe(1);

    const snapshot = snapshots[0]!;
    const runOf = async (runId: string) =>
      (await snapshot.rowsOf('runs', runId))[0] as unknown as { taskKeys: string[]; taskSlices: number };
    const rowsOfRun = async (runId: string) => {
      const run = await runOf(runId);
      return snapshot.rowsWithKeys(
        'tasks',
        run.taskKeys.map((taskKey) => ({ runId, taskKey, runSlices: run.taskSlices })),
      );
    };
    // A run spreads over one slice per 32 tasks.
    expect([(await runOf('small')).taskSlices, (await runOf('big')).taskSlices]).toEqual([1, 7]);
    gets.mockClear();
    const small = await rowsOfRun('small');
    expect(small.map((t) => t.taskKey)).toEqual(['t000', 't001']);
    // The runs shard and the small run's one task slice, not every slice of the run's shard.
    expect(gets.mock.calls.length).toBeLessThanOrEqual(2);
    const big = await rowsOfRun('big');
    expect(big.map((t) => t.taskKey)).toEqual(tasks.map((t) => t.key));
    expect(big).toEqual(await snapshot.rowsOf('tasks', 'big'));
    const slicesOf = (rows: Row[]) => new Set(rows.map((row) => shardOfRow('tasks', row))).size;
    expect([slicesOf(small), slicesOf(big)]).toEqual([1, 7]);

    // Edges are sliced by upstream: a run's task keys name every slice that holds its edges.
    const edgesOf = async (runId: string, keys: string[]) => {
      const runSlices = (await runOf(runId)).taskSlices;
      return snapshot.rowsInSlicesOf(
        'dep_satisfaction',
        keys.map((upstreamTaskKey) => ({ runId, upstreamTaskKey, runSlices })),
      );
    };
    gets.mockClear();
    expect((await edgesOf('small', ['t000', 't001'])).map((e) => e.downstreamTaskKey)).toEqual(['t001']);
    expect(gets.mock.calls.length).toBeLessThanOrEqual(2);
    expect(
      await edgesOf(
        'big',
        tasks.map((t) => t.key),
      ),
    ).toEqual(await snapshot.rowsOf('dep_satisfaction', 'big'));
    // The fan-out's 199 edges all leave t000: one slice of the run's shard holds them.
    const shard = shardOf('dep_satisfaction', 'big');
    const edgeSlices = Object.keys(snapshot.manifest!.tables.dep_satisfaction);
    expect(edgeSlices.filter((slice) => slice.startsWith(`${shard}.`))).toHaveLength(1);
  });

  it('reads the runs in progress from only the shards that count one, and a shard that counts none yet', async () => {
    const oneTaskRun = (runId: string) => [
      { data: { type: 'run_triggered', runId, planId: `p-${runId}`, trigger: {}, rootAssets: ['a'] } },
      { data: { type: 'plan_created', runId, planId: `p-${runId}`, tasks: [{ key: 'a', dependsOn: [] }] } },
    ];
    // Keyed run ids fall in hash shards, so these forty spread over many shards of the runs table.
    const finished = Array.from({ length: 40 }, (_, i) => `done${i}`);
    const ledger = ledgerFor(deps, scope, { hint: false });
    await ledger.append([
      ...finished.flatMap(oneTaskRun),
      ...finished.flatMap((runId) => workerAttempt(runId, 'a', { outcome: 'succeeded' })),
      ...oneTaskRun('live'),
    ] as AppendInput[]);
    await compactorFor(deps, scope).drain();

    const snapshot = await readerFor(deps, scope).snapshot();
    const runShards = snapshot.manifest!.tables.runs;
    const liveShard = shardOf('runs', 'live');
    expect(runShards[liveShard]!.open_rows).toBe(1);
    const idle = Object.entries(runShards).filter(([id]) => id !== liveShard);
    expect(idle.length).toBeGreaterThan(10);
    expect(idle.every(([, artifact]) => artifact.open_rows === 0)).toBe(true);
    const tasksShard = Object.values(snapshot.manifest!.tables.tasks)[0]!;
    expect(tasksShard).not.toHaveProperty('open_rows');

    const gets = vi.spyOn(deps.memory.objects, 'get');
    const fresh = new ProjectionSnapshot(new ProjectionStore(objects), snapshot.pointer, snapshot.manifest);
    expect((await fresh.openRows('runs')).map((run) => run.runId)).toEqual(['live']);
    expect(gets.mock.calls.filter(([key]) => key.includes('/shards/runs/'))).toHaveLength(1);

    // A shard published before artifacts counted open rows is read: it may hold a run in progress.
    const [doneShard, doneArtifact] = idle[0]!;
    const { open_rows: _counted, ...uncounted } = doneArtifact;
    const older = new ProjectionSnapshot(new ProjectionStore(objects), snapshot.pointer, {
      ...snapshot.manifest!,
      tables: { ...snapshot.manifest!.tables, runs: { ...runShards, [doneShard]: uncounted } },
    });
    gets.mockClear();
    expect((await older.openRows('runs')).map((run) => run.runId)).toEqual(['live']);
    // The live shard was read above and is cached; the uncounted one is read.
    expect(gets.mock.calls.filter(([key]) => key.includes('/shards/runs/')).map(([key]) => key)).toEqual([
      expect.stringContaining(`/shards/runs/${doneShard}/`),
    ]);
    // Finished runs are still in every run's listing.
    expect(await fresh.rows('runs')).toHaveLength(41);
    await expect(snapshot.openRows('tasks')).rejects.toThrow(/does not say/);

    // Manifests of earlier releases lack a summary: none had `paged_range`, the ones before them no
    // `open_rows` either (and a shard could lack only that one). The next publish after a cold start
    // rewrites those shards once, with both, and the same rows.
    const unsummarised = Object.fromEntries(
      Object.entries(runShards).map(([id, { open_rows, paged_range, ...artifact }], i) => [
        id,
        [artifact, { ...artifact, open_rows }, { ...artifact, paged_range }][i % 3],
      ]),
    );
    await publishAs('state/orchestration/manifests/earlier-release.json', {
      ...snapshot.manifest!,
      tables: { ...snapshot.manifest!.tables, runs: unsummarised },
    });
    resetCompactorCache();
    await ledger.append(oneTaskRun('later') as AppendInput[]);
    await compactorFor(deps, scope).drain();
    const recounted = (await readerFor(deps, scope).snapshot()).manifest!.tables.runs;
    expect(
      Object.values(recounted).every((artifact) => artifact.open_rows !== undefined && artifact.paged_range),
    ).toBe(true);
    for (const [id, artifact] of Object.entries(runShards))
      if (id !== shardOf('runs', 'later')) expect(recounted[id]).toEqual(artifact);
  });

  it('pages the newest runs from the shards that can hold them, whatever shard a run lives in', async () => {
    const rand = (() => {
      let state = 7;
      return () => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    })();
    // An hour before the end of a UTC day, so the newest runs all lie in one day's shards.
    const nowMs = Math.floor(deps.clock.now().getTime() / 86_400_000) * 86_400_000 - 3_600_000;
    /**
     * Publishes ninety runs of the three days before `nowMs` in `into` (their shards: three days × eight) and
     * returns its snapshot. Each run's id is minted when it is triggered, as the API does, or, with
     * `scattered`, at another time: its shard then says nothing of when it was triggered.
     */
    const publishRuns = async (into: Scope, scattered: boolean) => {
      const events = Array.from({ length: 90 }, (_, i) => {
        const triggeredMs = i % 5 === 0 ? nowMs - 3_600_000 : nowMs - Math.floor(rand() * 3 * 86_400_000);
        const runId = ulid(scattered ? nowMs - Math.floor(rand() * 3 * 86_400_000) : triggeredMs);
        return envelope({
          eventId: ulid(triggeredMs),
          tenantId: into.tenant,
          workspaceId: into.workspace,
          timestamp: new Date(triggeredMs),
          data: { type: 'run_triggered', runId, planId: `p-${runId}`, trigger: {}, rootAssets: [] },
        });
      });
      await ledgerFor(deps, into, { hint: false }).appendEvents(events);
      await compactorFor(deps, into).drain();
      return readerFor(deps, into).snapshot();
    };
    const sortKey = (row: Row) => [String(row.triggeredAt), String(row.runId)];
    const newestFirst = (a: Row, b: Row) => compareDescThenAsc(sortKey(a), sortKey(b));

    // Every page, of any size and filter, from runs whose shards overlap in time (eighteen were
    // triggered at the same instant, so pages end inside ties), equals the runs sorted.
    const snapshot = await publishRuns(scope, true);
    const pageOf = async (size: number, after: string[] | null, taken: (row: Row) => boolean) => {
      const keep = (row: Row) => taken(row) && (!after || compareDescThenAsc(sortKey(row), after) > 0);
      const read = await snapshot.newestRows('runs', size + 1, keep, after?.[0]);
      return read.filter(keep).sort(newestFirst).slice(0, size);
    };
    const everyPage = async (size: number, taken: (row: Row) => boolean) => {
      const paged: Row[] = [];
      for (let after: string[] | null = null; ;) {
        const page = await pageOf(size, after, taken);
        paged.push(...page);
        if (page.length < size) return paged;
        after = sortKey(page.at(-1)!);
      }
    };
    const all = (await snapshot.rows('runs')) as Row[];
    expect(all).toHaveLength(90);
    for (const size of [1, 5, 12, 30])
      expect(await everyPage(size, () => true), `pages of ${size}`).toEqual([...all].sort(newestFirst));
    const odd = (row: Row) => parseInt(String(row.runId).slice(-1), 32) % 2 === 1;
    expect(await everyPage(7, odd)).toEqual(all.filter(odd).sort(newestFirst));
    // Shards an earlier release wrote record no range: they are read too.
    const ranged = snapshot.manifest!.tables.runs;
    const rangeless = new ProjectionSnapshot(new ProjectionStore(objects), snapshot.pointer, {
      ...snapshot.manifest!,
      tables: {
        ...snapshot.manifest!.tables,
        runs: Object.fromEntries(
          Object.entries(ranged).map(([id, { paged_range: _range, ...artifact }], i) => [
            id,
            i % 3 ? { ...artifact, paged_range: _range } : artifact,
          ]),
        ),
      },
    });
    expect(Object.keys(ranged).length).toBeGreaterThan(3);
    for (const size of [1, 12]) {
      const paged = (await rangeless.newestRows('runs', size + 1, () => true))
        .sort(newestFirst)
        .slice(0, size);
      expect(paged, `first page of ${size}, some shards without a range`).toEqual(
        [...all].sort(newestFirst).slice(0, size),
      );
    }

    // Runs whose ids were minted when they were triggered: the first page of twenty reads the newest
    // shards, not every shard (nothing of this workspace is cached yet).
    const other = { tenant: scope.tenant, workspace: `${scope.workspace}b` };
    const minted = await publishRuns(other, false);
    const shards = await new ProjectionStore(scopedObjectStore(deps.objects, other)).tableShards(
      minted.manifest!,
      'runs',
    );
    expect(Object.keys(shards).length).toBeGreaterThan(16);
    const gets = vi.spyOn(deps.memory.objects, 'get');
    const first = (await minted.newestRows('runs', 21, () => true)).sort(newestFirst).slice(0, 20);
    const shardReads = gets.mock.calls.filter(([key]) => key.includes('/shards/runs/')).length;
    expect(shardReads).toBeLessThanOrEqual(8);
    expect(first).toEqual(((await minted.rows('runs')) as Row[]).sort(newestFirst).slice(0, 20));
  });

  it("records a run key in the time shard of its event, so a new key rewrites one of the day's shards", async () => {
    const nowMs = deps.clock.now().getTime();
    const triggered = (runKey: string, atMs: number) => {
      const runId = ulid(atMs);
      return envelope({
        eventId: ulid(atMs),
        tenantId: scope.tenant,
        workspaceId: scope.workspace,
        timestamp: new Date(atMs),
        data: { type: 'run_triggered', runId, runKey, planId: `p-${runId}`, trigger: {}, rootAssets: [] },
      });
    };
    const ledger = ledgerFor(deps, scope, { hint: false });
    await ledger.appendEvents(
      Array.from({ length: 60 }, (_, i) => triggered(`key-${i}`, nowMs - (i % 20) * 86_400_000 - i * 1000)),
    );
    await compactorFor(deps, scope).drain();
    const store = new ProjectionStore(objects);
    const before = await store.tableShards((await store.head('')).manifest, 'run_key_index');
    expect(Object.keys(before).every((id) => /^t\d{10}-\d$/.test(id))).toBe(true);
    expect(Object.keys(before).length).toBeGreaterThan(20);

    const newKey = triggered('key-new', nowMs + 1000);
    await ledger.appendEvents([newKey]);
    await compactorFor(deps, scope).drain();
    const after = await store.tableShards((await store.head('')).manifest, 'run_key_index');
    const changed = Object.keys(after).filter((id) => after[id]!.path !== before[id]?.path);
    expect(changed).toEqual([shardOfRow('run_key_index', { runKey: 'key-new', rowVersion: newKey.eventId })]);

    // Keys an earlier release published in hash shards move into time shards at the next publish
    // after a cold start, none lost.
    const head = await store.head('');
    const keys = await (await readerFor(deps, scope).snapshot()).rows('run_key_index');
    const hashShard = (await store.writeShard('run_key_index', 'h00', keys))!;
    await publishAs('state/orchestration/manifests/hash-keys.json', {
      ...head.manifest,
      tables: { ...head.manifest.tables, run_key_index: { h00: hashShard } },
      archives: { ...head.manifest.archives, run_key_index: {} },
    });
    resetCompactorCache();
    await ledger.appendEvents([triggered('key-after', nowMs + 2000)]);
    await compactorFor(deps, scope).drain();
    const moved = await store.tableShards((await store.head('')).manifest, 'run_key_index');
    expect(Object.keys(moved).every((id) => /^t\d{10}-\d$/.test(id))).toBe(true);
    expect(Object.values(moved).reduce((n, artifact) => n + artifact.rows, 0)).toBe(keys.length + 1);
  });

  it('rewrites a table whose published slices have another layout than the current one', async () => {
    const tasks = Array.from({ length: 60 }, (_, i) => ({
      key: `t${String(i).padStart(2, '0')}`,
      dependsOn: i ? [`t${String(i - 1).padStart(2, '0')}`] : [],
    }));
    await ledgerFor(deps, scope, { hint: false }).append([
      { data: { type: 'run_triggered', runId: 'r', planId: 'p', trigger: {}, rootAssets: ['t00'] } },
      { data: { type: 'plan_created', runId: 'r', planId: 'p', tasks } },
    ]);
    await compactorFor(deps, scope).drain();
    const edges = await (await readerFor(deps, scope).snapshot()).rowsOf('dep_satisfaction', 'r');
    expect(edges).toHaveLength(59);

    // As an earlier version published it: the same rows under slice names without the layout's tag.
    const pointerObject = (await objects.get(POINTER_PATH))!;
    const pointer = JSON.parse(pointerObject.bytes.toString()) as Pointer;
    const manifest = await readJson<Manifest>(pointer.manifest_path);
    const renamed = Object.entries(manifest.tables.dep_satisfaction).map(
      ([slice, artifact]) => [slice.replace('.u', '.'), artifact] as const,
    );
    expect(renamed.every(([slice]) => !slice.includes('.u'))).toBe(true);
    const oldPath = pointer.manifest_path.replace('.json', '-old-layout.json');
    await objects.put(
      oldPath,
      JSON.stringify({
        ...manifest,
        tables: { ...manifest.tables, dep_satisfaction: Object.fromEntries(renamed) },
      }),
    );
    await objects.put(POINTER_PATH, JSON.stringify({ ...pointer, manifest_path: oldPath }), {
      ifGenerationMatch: pointerObject.generation,
    });
    // Until that publish (an idle workspace may never make one), readers of the old manifest find the
    // edges by their run's task keys all the same.
    const old = await readerFor(deps, scope).snapshot();
    expect(
      await old.rowsInSlicesOf(
        'dep_satisfaction',
        tasks.map((t) => ({ runId: 'r', upstreamTaskKey: t.key })),
      ),
    ).toEqual(edges);
    resetCompactorCache();

    await ledgerFor(deps, scope, { hint: false }).append([
      { data: { type: 'run_triggered', runId: 'other', planId: 'p2', trigger: {}, rootAssets: ['t00'] } },
    ]);
    await compactorFor(deps, scope).drain();
    const after = await readerFor(deps, scope).snapshot();
    expect(Object.keys(after.manifest!.tables.dep_satisfaction).every((slice) => slice.includes('.u'))).toBe(
      true,
    );
    expect(await after.rowsOf('dep_satisfaction', 'r')).toEqual(edges);
  });

  it('lists only the pending batches appended since a time when asked, without reading older records', async () => {
    const clock = deps.clock as ManualClock;
    const ledger = ledgerFor(deps, scope, { hint: false });
    const trigger = (runId: string): EventData => ({
      type: 'run_triggered',
      runId,
      planId: runId,
      trigger: {},
      rootAssets: [],
    });
    const older = await ledger.append([{ data: trigger('older') }]);
    clock.advance(1_000);
    const since = clock.now().getTime();
    const newer = await ledger.append([{ data: trigger('newer') }]);
    const compactor = new Compactor(compactorDeps(deps, scope));
    expect((await compactor.pendingBatches()).map((b) => b.batchId)).toEqual([older.batchId, newer.batchId]);
    const query = vi.spyOn(deps.documents, 'query');
    expect((await compactor.pendingBatches(false, since)).map((b) => b.batchId)).toEqual([newer.batchId]);
    expect(query.mock.calls[0]?.[1]?.where).toEqual([['batchId', '>', expect.any(String)]]);
    expect(await compactor.pendingBatches(false, since + 1_000)).toEqual([]);
  });

  /** Run r's trigger and the dispatch of its task a, as one pending batch. */
  const appendDispatch = () =>
    ledgerFor(deps, scope, { hint: false }).append(
      runEvents('r')
        .slice(0, 3)
        .map((data) => ({ data })),
    );
  /** The worker's callbacks for that dispatch (started, succeeded), as the next batch. */
  const appendCallbacks = () =>
    ledgerFor(deps, scope, { hint: false }).append(
      runEvents('r')
        .slice(3)
        .map((data) => ({ data })),
    );

  /** A compactor holding the lease, with one run folded and not yet published. */
  const leasedWithRunFolded = async () => {
    await ledgerFor(deps, scope, { hint: false }).append(runEvents('r').map((data) => ({ data })));
    const compactor = new Compactor(compactorDeps(deps, scope));
    const token = (await compactor.acquire())!;
    await compactor.fold(await compactor.pendingBatches());
    return { compactor, token };
  };

  it('publishes although its lease was renewed while the publish wrote (the fencing token moved on by one)', async () => {
    const { compactor, token } = await leasedWithRunFolded();
    // The session's renewal (every 10 s) lands while the publish writes its shards.
    const put = deps.memory.objects.put.bind(deps.memory.objects);
    let renewed: Promise<number | null> | undefined;
    vi.spyOn(deps.memory.objects, 'put').mockImplementation(async (...args) => {
      renewed ??= compactor.acquire();
      await renewed;
      return put(...args);
    });
    const result = await compactor.publish(token);
    expect(await renewed).toBe(token + 1);
    expect(result.visibility_status).toBe('visible');
    const runs = await (await readerFor(deps, scope).snapshot()).rows('runs');
    expect(runs.map((run) => run.runId)).toEqual(['r']);
    await compactor.release(token + 1);
  });

  it('publishes although a renewal lands while it reads the lease to check it still holds it', async () => {
    const { compactor, token } = await leasedWithRunFolded();
    const get = deps.documents.get.bind(deps.documents);
    let renewed: Promise<number | null> | undefined;
    vi.spyOn(deps.documents, 'get').mockImplementation(async (path) => {
      if (path.endsWith('/leases/orchestration-compaction')) await (renewed ??= compactor.acquire());
      return get(path);
    });
    expect((await compactor.publish(token)).visibility_status).toBe('visible');
    expect(await renewed).toBe(token + 1);
    // Another holder in between breaks the hold: the older token no longer counts, the new one does.
    (deps.clock as ManualClock).advance(31_000);
    const other = new CompactionLease(deps.documents, scope, deps.clock, 'instance-b');
    await other.release((await other.acquire())!);
    const retaken = (await compactor.acquire())!;
    expect(await compactor.lease.holds(token + 1)).toBe(false);
    expect(await compactor.lease.holds(retaken)).toBe(true);
    await compactor.release(retaken);
  });

  it('does not publish a warm state dropped while the publish wrote (a lapse found at renewal)', async () => {
    const { compactor, token } = await leasedWithRunFolded();
    const put = deps.memory.objects.put.bind(deps.memory.objects);
    vi.spyOn(deps.memory.objects, 'put').mockImplementation(async (...args) => {
      // What a renewal does when it finds the lease lapsed and takes it anew: the warm state goes.
      compactor.forget();
      return put(...args);
    });
    await expect(compactor.publish(token)).rejects.toThrow('lease was lost');
    expect(await (await readerFor(deps, scope).snapshot()).rows('runs')).toEqual([]);
  });

  it.each([
    ['another instance takes over after a session failed before publishing', 'takeover'],
    ['a renewal finds that another instance held the lease meanwhile', 'lapse'],
  ] as const)(
    'folds what an earlier holder folded and never published before a hint that follows it, when %s',
    async (_, path) => {
      const clock = deps.clock as ManualClock;
      // The trigger and the dispatch of task a, then the worker's callbacks for that dispatch.
      const dispatched = await appendDispatch();
      const callbacks = await appendCallbacks();
      const holder = (id: string) => new Compactor({ ...compactorDeps(deps, scope), holderId: id });
      const first = holder('instance-a');
      const firstToken = (await first.acquire())!;
      await first.fold(await first.pendingBatches());
      let compactor = first;
      if (path === 'takeover') {
        // Its session failed: the warm state goes, the lease is let go, and nothing was published.
        first.forget();
        await first.release(firstToken);
        compactor = holder('instance-b');
        expect(await compactor.acquire()).toBe(firstToken + 1);
      } else {
        // Its renewal came too late: another instance took the lease, found nothing and let go.
        clock.advance(31_000);
        const other = new CompactionLease(deps.documents, scope, deps.clock, 'instance-b');
        await other.release((await other.acquire())!);
        expect(await first.acquire()).toBe(firstToken + 2);
      }
      // Only the callbacks' hint reaches the holder now; the batch they follow is still pending.
      await compactor.fold([{ batchId: callbacks.batchId, paths: callbacks.paths }]);
      const token = (await compactor.acquire())!;
      await compactor.publish(token);
      const tasks = await (await readerFor(deps, scope).snapshot()).rows('tasks');
      expect(tasks.map((t) => [t.taskKey, t.state])).toEqual([
        ['a', 'SUCCEEDED'],
        ['b', 'READY'],
      ]);
      expect(await deps.documents.get(`${pendingCollection(scope)}/${dispatched.batchId}`)).toBeNull();
      await compactor.release(token);
    },
  );

  it('holds back a hint newer than what a truncated catch-up scan listed until the older batches are published', async () => {
    const ledger = ledgerFor(deps, scope, { hint: false });
    for (const runId of ['o1', 'o2']) await ledger.append(runEvents(runId).map((data) => ({ data })));
    await appendDispatch();
    const callbacks = await appendCallbacks();
    const hint = [{ batchId: callbacks.batchId, paths: callbacks.paths }];
    // A scan lists two batches at most: two older runs, not the dispatch the callbacks follow.
    const compactor = new Compactor({ ...compactorDeps(deps, scope), maxScanBatches: 2 });
    const token = (await compactor.acquire())!;
    const task = async () =>
      (await (await readerFor(deps, scope).snapshot()).rowsOf('tasks', 'r')).find((t) => t.taskKey === 'a');
    await compactor.fold(hint);
    await compactor.publish(token);
    expect(await task()).toBeUndefined();
    // Still not caught up: the scan now reaches the dispatch, and the callbacks follow it in one fold.
    await compactor.fold(hint);
    await compactor.publish(token);
    expect(await task()).toMatchObject({ state: 'SUCCEEDED' });
    expect(await compactor.pendingBatches(true)).toEqual([]);
    const runs = await (await readerFor(deps, scope).snapshot()).rows('runs');
    expect(runs.map((r) => r.runId).sort()).toEqual(['o1', 'o2', 'r']);
    await compactor.release(token);
  });

  it.each([
    ['renews its lease and reloads its state', 'renewal'],
    ['reads the records of a scan, then folds them into a reloaded state', 'scan'],
  ] as const)('loses no callback when a publish fails while the session %s', async (_, step) => {
    const dispatched = await appendDispatch();
    const compactor = new Compactor(compactorDeps(deps, scope));
    // Publishes whenever something is folded; renews on every pass, or scans on every pass.
    const scheduler = new WorkspaceScheduler(compactor, deps.clock, deps.log, {
      publishIntervalMs: 0,
      renewIntervalMs: step === 'renewal' ? 0 : 60_000,
      scanIntervalMs: step === 'scan' ? 0 : 60_000,
    });
    const put = deps.memory.objects.put.bind(deps.memory.objects);
    const compareAndSet = deps.documents.compareAndSet.bind(deps.documents);
    const getMany = deps.documents.getMany.bind(deps.documents);
    const gate = () => {
      let open = () => {};
      const opened = new Promise<void>((resolve) => (open = resolve));
      return { open, opened };
    };
    const shardWrite = gate();
    const held = gate();
    let failShards = true;
    let shardsFailed = false;
    let hold = false;
    const holding = async () => {
      if (!hold) return;
      hold = false;
      await held.opened;
    };
    vi.spyOn(deps.memory.objects, 'put').mockImplementation(async (key, ...rest) => {
      if (failShards && key.includes('/state/orchestration/shards/')) {
        failShards = false;
        await shardWrite.opened;
        shardsFailed = true;
        throw new Error('injected: the publish failed');
      }
      return put(key, ...rest);
    });
    vi.spyOn(deps.documents, 'compareAndSet').mockImplementation(async (path, ...rest) => {
      if (step === 'renewal' && path.endsWith('/leases/orchestration-compaction')) await holding();
      return compareAndSet(path, ...rest);
    });
    vi.spyOn(deps.documents, 'getMany').mockImplementation(async (paths) => {
      if (step === 'scan') await holding();
      return getMany(paths);
    });
    // The dispatch is folded and its publish starts; it fails while the next pass holds at `step`.
    await scheduler.hint([{ batchId: dispatched.batchId, paths: dispatched.paths }]);
    // The worker's callbacks: hinted, or found by the scan (paths only: folding reads them).
    const callbacks = await appendCallbacks();
    hold = true;
    const folded = scheduler.hint(
      step === 'scan' ? [] : [{ batchId: callbacks.batchId, paths: callbacks.paths }],
    );
    await vi.waitFor(() => expect(hold).toBe(false));
    shardWrite.open();
    await vi.waitFor(() => expect(shardsFailed).toBe(true));
    // The failed publish drops the warm state (no I/O stands between), then the held step goes on.
    await new Promise((resolve) => setTimeout(resolve, 20));
    held.open();
    await folded.catch(() => false);
    // The next session, or an operator's drain, folds whatever is still pending. Without both the catch-up
    // of a reloaded state and the session's stop after a failed publish, the callbacks were folded into
    // a reloaded state that lacked their run, published as nothing, and task a stayed DISPATCHED for good.
    await vi.waitFor(async () => {
      await scheduler.drain().catch(() => {});
      const tasks = await (await readerFor(deps, scope).snapshot()).rows('tasks');
      expect(tasks.map((t) => [t.taskKey, t.state])).toEqual([
        ['a', 'SUCCEEDED'],
        ['b', 'READY'],
      ]);
    });
  });

  it('keeps idle workspaces warm within a row budget, the least recently released dropped first and reloaded intact', async () => {
    const named = (name: string) => ({ tenant: scope.tenant, workspace: `${scope.workspace}${name}` });
    const runIn = async (ws: Scope, runId: string) =>
      ledgerFor(deps, ws, { hint: false }).append(runEvents(runId).map((data) => ({ data })));
    const rowsIn = async (ws: Scope) => {
      const snapshot = await readerFor(deps, ws).snapshot();
      let rows = 0;
      for (const table of TABLES) rows += (await snapshot.rows(table)).length;
      return rows;
    };
    // Every workspace below holds one run like this one: the budget fits two of them.
    const probe = named('probe');
    await runIn(probe, 'probe');
    await new Compactor(compactorDeps(deps, probe)).drain();
    const rowsEach = await rowsIn(probe);
    resetCompactorCache();

    const workspaces = ['a', 'b', 'c', 'd'].map(named);
    const compactors = workspaces.map(
      (ws) => new Compactor({ ...compactorDeps(deps, ws), idleWarmRows: 2 * rowsEach }),
    );
    const gets = vi.spyOn(deps.memory.objects, 'get');
    /** Drains workspace i and says how many shards it read: none when its warm state was kept. */
    const shardReadsOfDrain = async (i: number) => {
      gets.mockClear();
      await compactors[i]!.drain();
      return gets.mock.calls.filter(([key]) => key.includes('/shards/')).length;
    };
    const [a, b, c, d] = [0, 1, 2, 3];
    for (const i of [a, b, c]) {
      await runIn(workspaces[i]!, `r${i}`);
      await compactors[i]!.drain();
    }
    // Released a, b, c: a, the least recently released, was dropped for c.
    expect(await shardReadsOfDrain(b)).toBe(0);
    expect(await shardReadsOfDrain(a)).toBeGreaterThan(0); // idle: c, b, a → c dropped
    expect(await shardReadsOfDrain(b)).toBe(0);
    expect(await shardReadsOfDrain(c)).toBeGreaterThan(0); // idle: a, b, c → a dropped

    // A workspace whose lease this process holds is never dropped for another's release.
    const token = (await compactors[b]!.acquire())!;
    await runIn(workspaces[d]!, 'r3');
    expect(await shardReadsOfDrain(a)).toBeGreaterThan(0); // idle: c, a
    await compactors[d]!.drain(); // idle: c, a, d → c dropped
    await compactors[b]!.release(token); // idle: a, d, b → a dropped
    expect(await shardReadsOfDrain(b)).toBe(0);

    // Nor is one left out of the count when another instance held the lease it had loaded for.
    vi.spyOn(compactors[d]!.lease, 'acquire').mockResolvedValueOnce(null);
    await expect(compactors[d]!.drain()).rejects.toThrow(LeaseBusyError); // idle: b, d
    await compactors[c]!.drain(); // idle: b, d, c → b dropped
    await compactors[a]!.drain(); // idle: d, c, a → d dropped
    expect(await shardReadsOfDrain(d)).toBeGreaterThan(0);

    // A reloaded workspace folds on from what was published, nothing lost or doubled.
    await runIn(workspaces[a]!, 'r9');
    await compactors[a]!.drain();
    const runsIn = async (ws: Scope) =>
      ((await (await readerFor(deps, ws).snapshot()).rows('runs')) as Row[]).map((r) => r.runId);
    expect(await runsIn(workspaces[a]!)).toEqual(['r0', 'r9']);
    expect(await runsIn(workspaces[d]!)).toEqual(['r3']);
  });

  it("rewrites an hour shard of idempotency keys whose name a quarter-hour shard kept, so the hour's other keys are not listed twice", async () => {
    const clock = deps.clock as ManualClock;
    // The next hour: ids minted from the real clock meanwhile (a compactor's holder id) stay behind it.
    const hourStart = (Math.floor(clock.now().getTime() / 3_600_000) + 1) * 3_600_000;
    const ledger = ledgerFor(deps, scope, { hint: false });
    clock.set(new Date(hourStart + 2 * 60_000));
    await ledger.append(runEvents('early').map((data) => ({ data })));
    clock.set(new Date(hourStart + 37 * 60_000));
    await ledger.append(runEvents('late').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    const store = new ProjectionStore(objects);
    const { manifest } = await store.head('');
    const ids = Object.keys(manifest.tables.idempotency_keys).sort();
    expect(ids.map((id) => id.slice(-2))).toEqual(['-0', '-2']);
    // As a version with one shard an hour published it: every key of the hour under the `-0` name.
    const keys = (
      await readerFor(deps, scope)
        .snapshot()
        .then((s) => s.rows('idempotency_keys'))
    ).map((row) => row.idempotencyKey);
    const rows = (await store.loadState(manifest.tables)).state.idempotency_keys;
    const hourShard = (await store.writeShard('idempotency_keys', ids[0]!, [...rows.values()]))!;
    const oldPath = 'state/orchestration/manifests/hour-shards.json';
    await publishAs(oldPath, {
      ...manifest,
      tables: { ...manifest.tables, idempotency_keys: { [ids[0]!]: hourShard } },
    });
    resetCompactorCache();
    await ledger.append(runEvents('after').map((data) => ({ data })));
    await compactorFor(deps, scope).drain();
    const after = await readerFor(deps, scope).snapshot();
    expect(Object.keys(after.manifest!.tables.idempotency_keys).sort()).toEqual(ids);
    const now = (await after.rows('idempotency_keys')).map((row) => row.idempotencyKey);
    expect(now.sort()).toEqual([...keys, ...runEvents('after').map(defaultIdempotencyKey)].sort());
  });

  it('rewrites an hour of idempotency keys published in four hash shards whose names its quarter hours reuse', async () => {
    // Before hour shards, keys had four hash shards an hour: `t{YYYYMMDDHH}-{sha256(eventId) % 4}`.
    const hashShard = (eventId: string) => Number.parseInt(sha256Hex(eventId).slice(0, 8), 16) % 4;
    const hourStart = (Math.floor(Date.now() / 3_600_000) + 1) * 3_600_000;
    const clock = deps.clock as ManualClock;
    clock.set(new Date(hourStart + 59 * 60_000));
    const stamp = new Date(hourStart).toISOString().slice(0, 13).replace(/[-T]/g, '');
    const ledger = ledgerFor(deps, scope, { hint: false });
    /** A run_triggered at `minute` whose event id falls in hash shard `hash`. */
    const triggered = (minute: number, hash: number | null, runId: string) => {
      const ms = hourStart + minute * 60_000;
      let eventId = ulid(ms);
      while (hash !== null && hashShard(eventId) !== hash) eventId = ulid(ms);
      const data = {
        type: 'run_triggered' as const,
        runId,
        planId: `p-${runId}`,
        trigger: {},
        rootAssets: [],
      };
      return envelope({
        eventId,
        tenantId: scope.tenant,
        workspaceId: scope.workspace,
        timestamp: new Date(ms),
        data,
      });
    };
    // One key in each quarter of the hour (`-0`…`-3`), in hash shards 1, 0, 3 and 2.
    await ledger.appendEvents([
      triggered(1, 1, 'a'),
      triggered(16, 0, 'b'),
      triggered(31, 3, 'c'),
      triggered(46, 2, 'd'),
    ]);
    await compactorFor(deps, scope).drain();
    const store = new ProjectionStore(objects);
    const { manifest } = await store.head('');
    const byHash = new Map<string, Row[]>();
    for (const row of (await store.loadState(manifest.tables)).state.idempotency_keys.values()) {
      const id = `t${stamp}-${hashShard(String(row.eventId))}`;
      byHash.set(id, [...(byHash.get(id) ?? []), row]);
    }
    const hashed: Manifest['tables']['idempotency_keys'] = {};
    for (const [id, rows] of byHash) hashed[id] = (await store.writeShard('idempotency_keys', id, rows))!;
    // The same four names, other contents.
    expect(Object.keys(hashed).sort()).toEqual(Object.keys(manifest.tables.idempotency_keys).sort());
    await publishAs('state/orchestration/manifests/hash-shards.json', {
      ...manifest,
      tables: { ...manifest.tables, idempotency_keys: hashed },
    });
    resetCompactorCache();
    await ledger.appendEvents([triggered(17, null, 'e')]);
    await compactorFor(deps, scope).drain();
    const expected = ['run:a', 'run:b', 'run:c', 'run:d', 'run:e'];
    const { manifest: after } = await store.head('');
    const cold = (await store.loadState(await store.allShards(after))).state.idempotency_keys;
    expect([...cold.values()].map((row) => row.idempotencyKey).sort()).toEqual(expected);
    const read = await (await readerFor(deps, scope).snapshot()).rows('idempotency_keys');
    expect(read.map((row) => row.idempotencyKey).sort()).toEqual(expected);
  });

  it('moves idempotency keys published in the hour shards of earlier versions into quarter-hour shards', async () => {
    // At minute 37: the keys' quarter-hour shard is the hour's third (`-2`), an hour shard was `-0`.
    const clock = deps.clock as ManualClock;
    // The next hour: ids minted from the real clock meanwhile (a compactor's holder id) stay behind it.
    const hourStart = (Math.floor(clock.now().getTime() / 3_600_000) + 1) * 3_600_000;
    clock.set(new Date(hourStart + 37 * 60_000));
    await ledgerFor(deps, scope, { hint: false }).append([
      { data: { type: 'run_triggered', runId: 'r', planId: 'p', trigger: {}, rootAssets: ['a'] } },
      { data: { type: 'plan_created', runId: 'r', planId: 'p', tasks: [{ key: 'a', dependsOn: [] }] } },
    ]);
    await compactorFor(deps, scope).drain();
    const keys = await (await readerFor(deps, scope).snapshot()).rows('idempotency_keys');
    expect(keys.map((k) => k.idempotencyKey).sort()).toEqual(['plan:r', 'run:r']);

    // As a version with one shard an hour published it: the same rows under the hour's name.
    const pointerObject = (await objects.get(POINTER_PATH))!;
    const pointer = JSON.parse(pointerObject.bytes.toString()) as Pointer;
    const manifest = await readJson<Manifest>(pointer.manifest_path);
    const shards = Object.keys(manifest.tables.idempotency_keys);
    expect(shards.every((id) => /^t\d{10}-2$/.test(id))).toBe(true);
    const oldPath = pointer.manifest_path.replace('.json', '-hour-shards.json');
    await objects.put(
      oldPath,
      JSON.stringify({
        ...manifest,
        tables: {
          ...manifest.tables,
          idempotency_keys: Object.fromEntries(
            Object.entries(manifest.tables.idempotency_keys).map(([id, artifact]) => [
              id.replace(/-2$/, '-0'),
              artifact,
            ]),
          ),
        },
      }),
    );
    await objects.put(POINTER_PATH, JSON.stringify({ ...pointer, manifest_path: oldPath }), {
      ifGenerationMatch: pointerObject.generation,
    });
    resetCompactorCache();
    // With nothing pending, the rewrite waits for the next events: the scan's session ends and lets
    // the lease go rather than holding it for a publish it cannot make.
    expect(await compactorFor(deps, scope).hint()).toBe(true);
    const other = new Compactor(compactorDeps(deps, scope));
    let token: number | null = null;
    for (let i = 0; i < 100 && token === null; i += 1) {
      token = await other.acquire();
      if (token === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(token).not.toBeNull();
    await other.release(token!);

    await ledgerFor(deps, scope, { hint: false }).append([
      { data: { type: 'run_triggered', runId: 'other', planId: 'p2', trigger: {}, rootAssets: ['a'] } },
    ]);
    await compactorFor(deps, scope).drain();
    const after = await readerFor(deps, scope).snapshot();
    expect(Object.keys(after.manifest!.tables.idempotency_keys).every((id) => id.endsWith('-2'))).toBe(true);
    expect((await after.rows('idempotency_keys')).map((k) => k.idempotencyKey).sort()).toEqual([
      'plan:r',
      'run:other',
      'run:r',
    ]);
  });
});
