import { beforeEach, describe, expect, it } from 'vitest';
import { compactorFor, readerFor } from '../../shared/orchestration/orchestrationServices.ts';
import { createGatewayApp } from '../../local/functionApps.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { ledgerFor } from '../../shared/orchestration/orchestrationServices.ts';
import { waitUntilVisible } from '../../shared/orchestration/state/visibility.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { apiClient } from '../support/apiClient.ts';
import { bearer, testDependencies, testToken, uniqueName } from '../support/testDependencies.ts';

// No worker URL: these tests play the worker themselves, so nothing is dispatched.
const MANIFEST = {
  codeVersionId: 'v1',
  retryPolicy: { maxAttempts: 2, initialBackoffSeconds: 1, maxBackoffSeconds: 5 },
  assets: [
    {
      key: { namespace: 'raw', name: 'orders' },
      partitioning: { dimensions: [{ name: 'date', kind: 'time', granularity: 'day' }] },
    },
    {
      key: { namespace: 'analytics', name: 'orders' },
      dependencies: [{ upstreamKey: { namespace: 'raw', name: 'orders' } }],
      partitioning: { dimensions: [{ name: 'date', kind: 'time', granularity: 'day' }] },
    },
    { key: 'analytics/customers' },
    {
      key: 'geo.sales',
      partitioning: {
        dimensions: [
          { name: 'date', kind: 'time', granularity: 'day' },
          { name: 'region', kind: 'static' },
        ],
      },
    },
  ],
};

interface Run {
  visibility_status?: string;
  runId: string;
  planId: string;
  state: string;
  created: boolean;
  createdAt: string;
}

describe('manifests, triggers with run keys, and run/partition reads', () => {
  let deps: Dependencies;
  let api: ReturnType<typeof apiClient>;
  let app: ReturnType<typeof createGatewayApp>;
  let ws: string;
  beforeEach(async () => {
    deps = await testDependencies();
    ws = uniqueName('ws');
    app = createGatewayApp(deps);
    api = apiClient(app, await bearer({ tenant: 'acme', workspace: ws, roles: ['operator'] }));
    expect((await api.post(`/api/v1/workspaces/${ws}/manifests`, MANIFEST)).status).toBe(201);
  });
  /** Triggers, then waits until the run reads back (a trigger may answer before its publish). */
  const trigger = async (body: object, headers?: Record<string, string>) => {
    const answer = await api.post<Run>(`/api/v1/workspaces/${ws}/runs`, body, headers);
    if (answer.status < 300 && answer.body.runId)
      for (let i = 0; i < 100; i += 1) {
        if ((await api.get(`/api/v1/workspaces/${ws}/runs/${answer.body.runId}`)).status !== 404) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    return answer;
  };

  it('refuses manifests with duplicate keys, unknown dependencies or cycles, naming them; replays by Idempotency-Key', async () => {
    const post = (body: object, headers?: Record<string, string>) =>
      api.post(`/api/v1/workspaces/${ws}/manifests`, body, headers);
    expect((await post({ codeVersionId: 'x', assets: [{ key: 'a.b' }, { key: 'a/b' }] })).body).toMatchObject(
      {
        message: 'duplicate asset keys: a.b',
      },
    );
    expect(
      (await post({ codeVersionId: 'x', assets: [{ key: 'a.b', dependencies: [{ upstreamKey: 'a.zzz' }] }] }))
        .body,
    ).toMatchObject({
      message: 'unknown dependencies: a.b -> a.zzz',
    });
    const cycle = await post({
      codeVersionId: 'x',
      assets: [
        { key: 'a.x', dependencies: [{ upstreamKey: 'a.y' }] },
        { key: 'a.y', dependencies: [{ upstreamKey: 'a.x' }] },
      ],
    });
    expect(cycle.status).toBe(400);
    expect(cycle.body).toMatchObject({ details: { cycle: ['a.x', 'a.y', 'a.x'] } });
    expect((await post({ codeVersionId: 'x', assets: [{ key: 'Bad Key' }] })).status).toBe(400);
    const first = await post(MANIFEST, { 'Idempotency-Key': 'deploy-1' });
    const replay = await post(MANIFEST, { 'Idempotency-Key': 'deploy-1' });
    expect([first.status, replay.status]).toEqual([201, 200]);
    expect(replay.body).toEqual(first.body);
    expect((await post({ ...MANIFEST, codeVersionId: 'v2' }, { 'Idempotency-Key': 'deploy-1' })).status).toBe(
      409,
    );
  });

  it('triggers a run that reads RUNNING at once, roots QUEUED and dependents PENDING', async () => {
    const created = await trigger({
      selection: ['raw.orders'],
      includeDownstream: true,
      partitionKey: 'date=d:2026-11-22',
    });
    expect(created.status).toBe(201);
    // Durable at once; readable once the compactor publishes (it may take longer than the trigger's
    // brief wait, which the answer then says).
    expect(created.body).toMatchObject({ state: 'PENDING', created: true });
    expect(['visible', 'persisted_not_visible']).toContain(created.body.visibility_status);
    const read = () =>
      api.get<{
        state: string;
        tasks: Array<{ taskKey: string; state: string; partitionKey: string; manifestPath: string }>;
      }>(`/api/v1/workspaces/${ws}/runs/${created.body.runId}`);
    let run = await read();
    for (let i = 0; run.status === 404 && i < 100; i += 1) {
      expect(created.body.visibility_status).toBe('persisted_not_visible');
      await new Promise((r) => setTimeout(r, 50));
      run = await read();
    }
    expect(run.body.state).toBe('RUNNING');
    expect(run.body.tasks.map((t) => t.manifestPath)).toEqual(
      ['analytics.orders', 'raw.orders'].map(
        (asset) => `manifests/${asset}/date=2026-11-22/run=${created.body.runId}/manifest.json`,
      ),
    );
    expect(run.body.tasks.map((t) => [t.taskKey, t.state, t.partitionKey])).toEqual([
      ['analytics.orders', 'PENDING', 'date=2026-11-22'],
      ['raw.orders', 'QUEUED', 'date=2026-11-22'],
    ]);
    expect((await api.get(`/api/v1/workspaces/${ws}/runs/nope`)).status).toBe(404);
  });

  it('replays the same run key and payload (200), and answers 409 with every detail for another payload', async () => {
    const first = await trigger({ selection: ['analytics.orders'], runKey: 'ops-conflict-check' });
    const again = await trigger({ selection: ['analytics/orders'], runKey: 'ops-conflict-check' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      runId: first.body.runId,
      planId: first.body.planId,
      created: false,
      createdAt: first.body.createdAt,
    });
    const clash = await trigger({ selection: ['analytics.customers'], runKey: 'ops-conflict-check' });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({
      code: 'CONFLICT',
      details: {
        conflictType: 'RUN_KEY_FINGERPRINT_MISMATCH',
        runKey: 'ops-conflict-check',
        existingRunId: first.body.runId,
        existingPlanId: first.body.planId,
        existingFingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
        requestedFingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
        existingCreatedAt: first.body.createdAt,
      },
    });
    const repeated = await trigger({ selection: ['analytics.customers'], runKey: 'ops-conflict-check' });
    expect(repeated.body).toEqual({
      ...clash.body,
      requestId: (repeated.body as unknown as { requestId: string }).requestId,
    });
  });

  it('validates before reserving, so a 400 never consumes the run key', async () => {
    expect((await trigger({ selection: ['nope.nothing'], runKey: 'k-400' })).body).toMatchObject({
      message: 'unknown asset keys: nope.nothing',
    });
    expect(
      (
        await trigger({
          selection: ['analytics.customers'],
          partitionKey: 'date=d:2026-11-22',
          runKey: 'k-400',
        })
      ).status,
    ).toBe(400);
    expect((await trigger({ selection: ['raw.orders'], partitionKey: 'day=2026-11-22' })).status).toBe(400);
    expect((await trigger({ selection: [], runKey: 'k-400' })).status).toBe(400);
    expect((await trigger({ selection: ['analytics.customers'], runKey: 'k-400' })).status).toBe(201);
  });

  it('cancels a run once, refuses terminal runs, and rejects reruns it cannot honour', async () => {
    const { runId } = (
      await trigger({ selection: ['raw.orders'], includeDownstream: true, partitionKey: 'date=d:2026-11-22' })
    ).body;
    const cancelled = await api.post<{ state: string }>(`/api/v1/workspaces/${ws}/runs/${runId}/cancel`, {
      reason: 'test',
    });
    expect(cancelled.status).toBe(200);
    // CANCELLED when the publish came within the visibility wait, else the cancel requested so far.
    expect(['CANCELLED', 'CANCELLING']).toContain(cancelled.body.state);
    const read = () =>
      api.get<{ state: string; tasks: Array<{ state: string }> }>(`/api/v1/workspaces/${ws}/runs/${runId}`);
    await expect.poll(async () => (await read()).body.state).toBe('CANCELLED');
    expect((await api.post(`/api/v1/workspaces/${ws}/runs/${runId}/cancel`, {})).status).toBe(200);
    const run = await read();
    expect(run.body.state).toBe('CANCELLED');
    expect(run.body.tasks.every((t) => t.state === 'CANCELLED')).toBe(true);
    expect((await api.post(`/api/v1/workspaces/${ws}/runs/nope/cancel`, {})).status).toBe(404);

    const fromFailure = await api.post(`/api/v1/workspaces/${ws}/runs/${runId}/rerun`, {
      mode: 'fromFailure',
    });
    expect(fromFailure.body).toMatchObject({ message: 'rerun-from-failure requires a FAILED parent run' });
    expect(
      (
        await api.post(`/api/v1/workspaces/${ws}/runs/nope/rerun`, {
          mode: 'subset',
          selection: ['raw.orders'],
        })
      ).status,
    ).toBe(404);
    const subset = await api.post<{ rerunReason: string; runId: string }>(
      `/api/v1/workspaces/${ws}/runs/${runId}/rerun`,
      {
        mode: 'subset',
        selection: ['raw.orders'],
      },
    );
    expect(subset.status).toBe(201);
    expect(subset.body.rerunReason).toBe('subset');
    // A state filter: a run in progress is read from the shards that count one, a finished one from all.
    const listed = async (state: string) =>
      (
        await api.get<{ runs: Array<{ runId: string }> }>(
          `/api/v1/workspaces/${ws}/runs?state=${state}&limit=200`,
        )
      ).body.runs.map((r) => r.runId);
    expect(await listed('CANCELLED')).toContain(runId);
    expect(await listed('RUNNING')).not.toContain(runId);
    await expect.poll(() => listed('RUNNING')).toContain(subset.body.runId);
    expect(
      (await api.post(`/api/v1/workspaces/${ws}/runs/${runId}/rerun`, { mode: 'subset', selection: [] }))
        .status,
    ).toBe(400);
  });

  it('reruns with the code deployed since: "fix and deploy, then rerun" runs the fix', async () => {
    const { runId } = (
      await trigger({ selection: ['raw.orders'], includeDownstream: true, partitionKey: 'date=d:2026-11-22' })
    ).body;
    await api.post(`/api/v1/workspaces/${ws}/runs/${runId}/cancel`, {});
    const fixed = {
      ...MANIFEST,
      codeVersionId: 'v2',
      retryPolicy: { maxAttempts: 4, initialBackoffSeconds: 1, maxBackoffSeconds: 5 },
      assets: MANIFEST.assets.map((a, i) => (i === 0 ? { ...a, payload: { fixed: true } } : a)),
    };
    expect((await api.post(`/api/v1/workspaces/${ws}/manifests`, fixed)).status).toBe(201);
    const rerun = await api.post<{ runId: string }>(`/api/v1/workspaces/${ws}/runs/${runId}/rerun`, {
      mode: 'subset',
      selection: ['raw.orders'],
    });
    expect(rerun.status).toBe(201);
    await compactorFor(deps, { tenant: 'acme', workspace: ws }).drain();
    const snapshot = await readerFor(deps, { tenant: 'acme', workspace: ws }).snapshot();
    const run = (await snapshot.rowsOf('runs', rerun.body.runId)).find((r) => r.runId === rerun.body.runId);
    const task = (await snapshot.rowsOf('tasks', rerun.body.runId)).find((t) => t.runId === rerun.body.runId);
    expect(run).toMatchObject({ codeVersion: 'v2' });
    expect(task).toMatchObject({ taskKey: 'raw.orders', payload: { fixed: true }, maxAttempts: 4 });
  });

  it('takes partition keys as people write them, one run for every spelling, and shows them plainly', async () => {
    // Every spelling of one partition is the same trigger: the same run key replays into the same run.
    const spellings = ['2026-11-22', 'date=2026-11-22', 'date=d:2026-11-22'];
    const runs = [];
    for (const partitionKey of spellings)
      runs.push(await trigger({ selection: ['raw.orders'], partitionKey, runKey: 'one-day' }));
    expect(runs.map((r) => r.status)).toEqual([201, 200, 200]);
    expect(new Set(runs.map((r) => r.body.runId)).size).toBe(1);

    const multi = await trigger({
      selection: ['geo.sales'],
      partitionKey: 'region=us east|date=2026-11-22',
      runKey: 'two-dims',
    });
    expect(multi.status).toBe(201);
    const again = await trigger({
      selection: ['geo.sales'],
      partitionKey: 'date=d:2026-11-22,region=s:dXMgZWFzdA',
      runKey: 'two-dims',
    });
    expect(again).toMatchObject({ status: 200, body: { runId: multi.body.runId } });
    const run = await api.get<{ tasks: Array<{ partitionKey: string; manifestPath: string }> }>(
      `/api/v1/workspaces/${ws}/runs/${multi.body.runId}`,
    );
    expect(run.body.tasks[0]).toMatchObject({
      partitionKey: 'date=2026-11-22|region=us east',
      manifestPath: `manifests/geo.sales/date=2026-11-22/region=us%20east/run=${multi.body.runId}/manifest.json`,
    });
    expect(
      (await trigger({ selection: ['raw.orders'], partitionKeys: ['2026-11-23', 'date=2026-11-24'] })).status,
    ).toBe(201);

    // What cannot be typed is a 400 with the API's error body, and the run key stays free.
    const ambiguous = await trigger({ selection: ['geo.sales'], partitionKey: '2026-11-22', runKey: 'free' });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body).toEqual({
      code: expect.any(String),
      message:
        'partitionKey: partition key "2026-11-22" names no dimension, and the asset has 2: write date=…|region=…',
      details: { field: 'partitionKey', partitionKey: '2026-11-22' },
      requestId: expect.any(String),
    });
    for (const partitionKey of ['date=2026-11-22', 'region=eu|date=2026-02-30', 'region=50%|date=2026-11-22'])
      expect(
        (await trigger({ selection: ['geo.sales'], partitionKey, runKey: 'free' })).status,
        partitionKey,
      ).toBe(400);
    expect(
      (await trigger({ selection: ['geo.sales'], partitionKey: 'date=2026-11-22|region=eu', runKey: 'free' }))
        .status,
    ).toBe(201);
  });

  it('creates exactly one run when 20 triggers race on one new key', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => trigger({ selection: ['analytics.customers'], runKey: 'race-key' })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(19);
    expect(new Set(results.map((r) => r.body.runId)).size).toBe(1);
    const list = await api.get<{ runs: Array<{ runId: string }> }>(`/api/v1/workspaces/${ws}/runs?limit=200`);
    expect(list.body.runs).toHaveLength(1);
  });

  it('repairs a crash between the reservation and the append on replay', async () => {
    deps.failpoints.arm('run.after_reservation', 1);
    const crashed = await trigger({ selection: ['analytics.customers'], runKey: 'crashy' });
    expect(crashed.status).toBe(500);
    expect(crashed.body).toMatchObject({ code: 'injected_fault' });
    const replay = await trigger({ selection: ['analytics.customers'], runKey: 'crashy' });
    expect(replay.status).toBe(200);
    const run = await api.get<{ state: string; runKey: string }>(
      `/api/v1/workspaces/${ws}/runs/${replay.body.runId}`,
    );
    expect(run.body).toMatchObject({ state: 'RUNNING', runKey: 'crashy' });
    const list = await api.get<{ runs: unknown[] }>(`/api/v1/workspaces/${ws}/runs`);
    expect(list.body.runs).toHaveLength(1);
  });

  it('pages runs by keyset and links a materialisation from task to partition row (runbook 000 §1)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1)
      ids.push(
        (await trigger({ selection: ['raw.orders'], partitionKey: `date=d:2026-11-2${i}` })).body.runId,
      );
    const page1 = await api.get<{ runs: Array<{ runId: string }>; nextCursor: string }>(
      `/api/v1/workspaces/${ws}/runs?limit=2`,
    );
    const page2 = await api.get<{ runs: Array<{ runId: string }>; nextCursor?: string }>(
      `/api/v1/workspaces/${ws}/runs?limit=2&cursor=${page1.body.nextCursor}`,
    );
    expect([...page1.body.runs, ...page2.body.runs].map((r) => r.runId)).toEqual([...ids].reverse());
    expect(page2.body.nextCursor).toBeUndefined();
    expect((await api.get(`/api/v1/workspaces/${ws}/runs?limit=0`)).status).toBe(400);
    expect((await api.get(`/api/v1/workspaces/${ws}/runs?cursor=%%%`)).status).toBe(400);
    // A cursor must name a run's sort key (triggeredAt, runId): one that names none would match nothing
    // and read the whole history for it.
    for (const keys of [[], ['2026-11-30T00:00:00.000Z']]) {
      const cursor = Buffer.from(JSON.stringify({ keys })).toString('base64url');
      const refused = await api.get<{ code: string }>(`/api/v1/workspaces/${ws}/runs?cursor=${cursor}`);
      expect([refused.status, refused.body.code]).toEqual([400, 'BAD_REQUEST']);
    }

    const runId = ids[0]!;
    const scope = { tenant: 'acme', workspace: ws };
    const key = 'raw.orders';
    const facts = { runId, taskKey: key, attempt: 1, attemptId: 'att-1', workerId: 'w' };
    const { batchId } = await ledgerFor(deps, scope).append([
      {
        data: {
          type: 'dispatch_requested',
          ...facts,
          workerQueue: 'q',
          dispatchId: `dispatch:${runId}:${key}:1`,
        },
      },
      { data: { type: 'task_started', ...facts } },
      {
        data: {
          type: 'task_finished',
          ...facts,
          outcome: 'succeeded',
          output: { deltaTable: 'raw.orders', deltaVersion: 7, deltaPartition: 'date=d:2026-11-20' },
        },
      },
    ]);
    expect(await waitUntilVisible(deps, scope, batchId, Date.now(), 10_000)).toBe('visible');
    const run = await api.get<{ tasks: Array<Record<string, unknown>> }>(
      `/api/v1/workspaces/${ws}/runs/${runId}`,
    );
    const task = run.body.tasks.find((t) => t.taskKey === key)!;
    const partitions = await api.get<{ partitions: Array<Record<string, unknown>> }>(
      `/api/v1/workspaces/${ws}/partitions?asset=raw.orders&limit=100`,
    );
    const row = partitions.body.partitions.find((p) => p.partitionKey === 'date=2026-11-20')!;
    for (const field of ['executionLineageRef', 'deltaTable', 'deltaVersion', 'deltaPartition'])
      expect(row[field], field).toEqual(task[field]);
    expect(task.deltaVersion).toBe(7);
    // The worker reported the canonical key; people read Delta's Hive style, also inside the lineage ref.
    expect(task.deltaPartition).toBe('date=2026-11-20');
    expect(JSON.parse(String(task.executionLineageRef))).toMatchObject({ deltaPartition: 'date=2026-11-20' });
    for (const partitionKey of ['2026-11-20', 'date=2026-11-20', 'date=d:2026-11-20']) {
      const filtered = await api.get<{ partitions: Array<{ partitionKey: string }> }>(
        `/api/v1/workspaces/${ws}/partitions?asset=raw.orders&partitionKey=${encodeURIComponent(partitionKey)}`,
      );
      expect(
        filtered.body.partitions.map((p) => p.partitionKey),
        partitionKey,
      ).toEqual(['date=2026-11-20']);
    }
    const badFilter = await api.get(
      `/api/v1/workspaces/${ws}/partitions?partitionKey=${encodeURIComponent('50%')}`,
    );
    expect(badFilter).toMatchObject({ status: 400, body: { details: { field: 'partitionKey' } } });
    // The UI shows the same plain keys and takes them in its partition filter.
    const cookie = `arco_ui_token=${await testToken({ tenant: 'acme', workspace: ws, roles: ['operator'] })}`;
    const ui = async (path: string) => {
      const response = await app.request(path, { headers: { Cookie: cookie } });
      return { status: response.status, text: await response.text() };
    };
    for (const path of [`/ui/runs/${runId}`, '/ui/partitions?asset=raw.orders&partition=2026-11-20']) {
      const page = await ui(path);
      expect(page.status, path).toBe(200);
      expect(page.text, path).toContain('2026-11-20');
      expect(page.text, path).not.toContain('=d:');
    }
    expect((await ui(`/ui/partitions?partition=${encodeURIComponent('50%')}`)).text).toContain(
      'must start %25',
    );
    // The step manifest's path is on the task row, and the platform wrote the manifest there.
    expect(task.manifestPath).toBe(`manifests/raw.orders/date=2026-11-20/run=${runId}/manifest.json`);
    const objects = scopedObjectStore(deps.objects, scope);
    for (let i = 0; i < 50 && !(await objects.head(String(task.manifestPath))); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await objects.head(String(task.manifestPath))).toBeTruthy();
    for (const partitionKey of ['2026-11-20', 'date=2026-11-20', 'date=d:2026-11-20']) {
      const manifest = await api.get<{ runId: string }>(
        `/api/v1/workspaces/${ws}/manifests/step?assetKey=raw.orders&runId=${runId}&partitionKey=${encodeURIComponent(partitionKey)}`,
      );
      expect(manifest, partitionKey).toMatchObject({ status: 200, body: { runId } });
    }
    const wrong = await api.get(
      `/api/v1/workspaces/${ws}/manifests/step?assetKey=raw.orders&runId=${runId}&partitionKey=region%3Deu`,
    );
    expect(wrong).toMatchObject({ status: 400, body: { details: { partitionKey: 'region=eu' } } });
    const summary = await api.get(`/api/v1/workspaces/${ws}/assets/raw.orders/partitions/summary`);
    expect(summary.body).toEqual({
      assetKey: 'raw.orders',
      totalPartitions: 1,
      materializedPartitions: 1,
      stalePartitions: 0,
      missingPartitions: 0,
    });
  });
});
