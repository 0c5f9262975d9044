import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionHost } from '../../local/functionHost.ts';
import { startHostOnEmulators } from '../../local/hostOnEmulators.ts';
import { GcsObjectStore } from '../../shared/adapters/gcsObjectStore.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { resetCompactorCache } from '../../shared/orchestration/state/compactor.ts';
import { POINTER_PATH } from '../../shared/orchestration/state/projectionStore.ts';
import {
  bearer,
  createTestBucket,
  TEST_SECRET,
  uniqueName,
  testPushSubscriptions,
} from '../support/testDependencies.ts';

interface TaskSummary {
  taskKey: string;
  state: string;
  attempt: number;
  [field: string]: unknown;
}
interface RunResponse {
  state: string;
  tasks: TaskSummary[];
  taskCounts: Record<string, number>;
}

/** The whole loop on the emulators: trigger → dispatch (Cloud Tasks) → worker → callbacks → retry → skip. */
describe('a run from trigger to terminal state', () => {
  let host: FunctionHost;
  let headers: Record<string, string>;
  const ws = uniqueName('ws');
  const call = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${host.url}${path}`, {
      method,
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as T };
  };

  beforeAll(async () => {
    host = await startHostOnEmulators({
      bucket: await createTestBucket(),
      secret: TEST_SECRET,
      pushToken: 'push-secret',
      pushSubscriptions: testPushSubscriptions(),
    });
    headers = await bearer({ tenant: 'acme', workspace: ws, roles: ['operator', 'producer'] });
  });
  afterAll(() => host?.close());

  it('retries a transient failure, skips downstream of a fatal one, and links lineage to Delta versions', async () => {
    const daily = { dimensions: [{ name: 'date', kind: 'time', granularity: 'day' }] };
    const deployed = await call('POST', `/api/v1/workspaces/${ws}/manifests`, {
      codeVersionId: 'v1',
      workerUrl: `${host.url}/worker`,
      retryPolicy: { maxAttempts: 3, initialBackoffSeconds: 1, maxBackoffSeconds: 2 },
      assets: [
        { key: 'raw.orders', partitioning: daily },
        {
          key: 'analytics.orders',
          dependencies: [{ upstreamKey: 'raw.orders' }],
          partitioning: daily,
          payload: { failUntilAttempt: 1 },
        },
        {
          key: 'analytics.customers',
          partitioning: daily,
          payload: {
            failUntilAttempt: 99,
            failWith: { category: 'DATA_QUALITY', message: 'missing required columns [customer_id]' },
          },
        },
        {
          key: 'analytics.report',
          dependencies: [{ upstreamKey: 'analytics.orders' }, { upstreamKey: 'analytics.customers' }],
          partitioning: daily,
        },
      ],
    });
    expect(deployed.status).toBe(201);
    const triggered = await call<{ runId: string }>('POST', `/api/v1/workspaces/${ws}/runs`, {
      selection: ['raw.orders', 'analytics.customers'],
      includeDownstream: true,
      partitionKey: '2026-11-22',
    });
    expect(triggered.status).toBe(201);
    const runId = triggered.body.runId;

    let run: RunResponse | undefined;
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      run = (await call<RunResponse>('GET', `/api/v1/workspaces/${ws}/runs/${runId}`)).body;
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.state)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const task = (key: string) => run!.tasks.find((t) => t.taskKey === key)!;
    expect(run!.state).toBe('FAILED');
    expect(task('raw.orders')).toMatchObject({
      state: 'SUCCEEDED',
      attempt: 1,
      deltaTable: 'raw.orders',
      deltaVersion: 1,
      // The worker reports the canonical key; the API shows it in Delta's Hive style.
      deltaPartition: 'date=2026-11-22',
    });
    expect(task('analytics.orders')).toMatchObject({
      state: 'SUCCEEDED',
      attempt: 2,
      retryAttribution: {
        retries: 1,
        attempt: 2,
        maxAttempts: 3,
        reason: 'prior_attempt_failed',
        previousAttempt: {
          attempt: 1,
          errorCategory: 'INFRASTRUCTURE',
          message: 'injected failure on attempt 1',
        },
      },
    });
    expect(task('analytics.customers')).toMatchObject({
      state: 'FAILED',
      attempt: 1,
      errorCategory: 'DATA_QUALITY',
      errorMessage: 'missing required columns [customer_id]',
    });
    expect(task('analytics.report')).toMatchObject({
      state: 'SKIPPED',
      skipAttribution: { upstreamTaskKey: 'analytics.customers', upstreamResolution: 'FAILED' },
    });
    expect(run!.taskCounts).toMatchObject({ total: 4, succeeded: 2, failed: 1, skipped: 1 });

    const partitions = await call<{ partitions: Array<Record<string, unknown>> }>(
      'GET',
      `/api/v1/workspaces/${ws}/partitions?asset=analytics.orders&limit=100`,
    );
    const row = partitions.body.partitions[0]!;
    for (const field of ['executionLineageRef', 'deltaTable', 'deltaVersion', 'deltaPartition'])
      expect(row[field], field).toEqual(task('analytics.orders')[field]);
    const table = await call<{ tables: Array<{ latest_version: number }> }>(
      'GET',
      '/api/v1/delta/tables?name=analytics.orders',
    );
    expect(table.body.tables[0]!.latest_version).toBe(task('analytics.orders').deltaVersion);

    // Disaster recovery: the projections are deleted, the ledger is replayed from an explicit list (the
    // operator lists the ledger; the compactor never does), and the same run and partition rows come back.
    // Everything folded so far published (acknowledgements ride with a publish), then read.
    const internal = await bearer({ tenant: 'acme', workspace: ws, internal: true });
    expect((await fetch(`${host.url}/compactor/compact`, { method: 'POST', headers: internal })).status).toBe(
      200,
    );
    const before = {
      run: (await call('GET', `/api/v1/workspaces/${ws}/runs/${runId}`)).body,
      partitions: (await call('GET', `/api/v1/workspaces/${ws}/partitions?limit=200`)).body,
    };
    const objects = scopedObjectStore(new GcsObjectStore(process.env.ARCO_STORAGE_BUCKET!), {
      tenant: 'acme',
      workspace: ws,
    });
    const eventPaths: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await objects.list('ledger/orchestration/', pageToken ? { pageToken } : {});
      eventPaths.push(...page.keys);
      pageToken = page.nextPageToken;
    } while (pageToken);
    await objects.delete(POINTER_PATH);
    resetCompactorCache();
    await objects.put(
      'state/orchestration/rebuilds/dr.json',
      JSON.stringify({ event_paths: eventPaths.reverse() }),
    );
    // A late Pub/Sub hint may be draining at this moment: 409 lease_busy says "retry shortly", as an operator would.
    let rebuilt: { events_processed?: number; details?: { reason?: string } } = {};
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const response = await fetch(`${host.url}/compactor/rebuild`, {
        method: 'POST',
        headers: {
          ...(await bearer({ tenant: 'acme', workspace: ws, internal: true })),
          'content-type': 'application/json',
        },
        body: JSON.stringify({ rebuild_manifest_path: 'state/orchestration/rebuilds/dr.json' }),
      });
      rebuilt = (await response.json()) as typeof rebuilt;
      if (response.status !== 409 || rebuilt.details?.reason !== 'lease_busy') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(rebuilt.events_processed, JSON.stringify(rebuilt)).toBe(eventPaths.length);
    expect((await call('GET', `/api/v1/workspaces/${ws}/runs/${runId}`)).body).toEqual(before.run);
    expect((await call('GET', `/api/v1/workspaces/${ws}/partitions?limit=200`)).body).toEqual(
      before.partitions,
    );
  });

  it('filters runs by any state the API shows, case-insensitively, and refuses a state no run can have', async () => {
    for (const state of ['failed', 'CANCELLING', ''])
      expect((await call('GET', `/api/v1/workspaces/${ws}/runs?state=${state}`)).status).toBe(200);
    const bogus = await call<{ code: string; message: string; details: unknown }>(
      'GET',
      `/api/v1/workspaces/${ws}/runs?state=BOGUS`,
    );
    expect(bogus).toEqual({
      status: 400,
      body: expect.objectContaining({
        code: 'BAD_REQUEST',
        message: 'state must be one of PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLING, CANCELLED',
        details: { field: 'state' },
      }),
    });
  });
});
