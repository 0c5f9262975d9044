import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDispatchEnvelope } from '../../examples/worker/dispatchEnvelope.ts';
import { runDispatch } from '../../examples/worker/worker.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { deltaServices } from '../../shared/delta/deltaServices.ts';
import { loadSnapshot, readRows } from '../../shared/delta/deltaSnapshot.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { startRecordingServer } from '../support/recordingServer.ts';
import { testDependencies, uniqueName } from '../support/testDependencies.ts';

describe('the example worker', () => {
  let deps: Dependencies;
  let api: Awaited<ReturnType<typeof startRecordingServer>>;
  const scope = { tenant: 'demo', workspace: uniqueName('ws') };
  const envelope = (overrides: Record<string, unknown> = {}) =>
    parseDispatchEnvelope({
      tenantId: scope.tenant,
      workspaceId: scope.workspace,
      taskId: 'ct1_abc',
      taskKey: 'analytics.orders',
      runId: 'run1',
      attempt: 1,
      attemptId: 'att_1',
      dispatchId: 'dispatch:run1:analytics.orders:1',
      partitionKey: 'date=2026-11-22',
      callbackBaseUrl: api.url,
      taskToken: 'task-token',
      ...overrides,
    });
  beforeAll(async () => {
    deps = await testDependencies();
    api = await startRecordingServer();
  });
  afterAll(() => api.close());

  it('materialises into a Delta table through the coordinator and reports the version it wrote', async () => {
    const result = await runDispatch(deps, envelope());
    expect(result).toMatchObject({
      outcome: 'SUCCEEDED',
      output: {
        deltaTable: 'analytics.orders',
        deltaVersion: 1,
        deltaPartition: 'date=2026-11-22',
        rowCount: 3,
      },
    });
    const [started, completed] = api.requests;
    expect(started!.path).toBe('/api/v1/tasks/ct1_abc/started');
    expect(started!.headers.authorization).toBe('Bearer task-token');
    expect(JSON.parse(started!.body)).toMatchObject({ attempt: 1, attemptId: 'att_1' });
    expect(completed!.path).toBe('/api/v1/tasks/ct1_abc/completed');
    expect(JSON.parse(completed!.body)).toMatchObject({ outcome: 'SUCCEEDED', output: result.output });

    const { catalog } = deltaServices(deps, scope);
    const table = (await catalog.findByName('analytics.orders'))!;
    const objects = scopedObjectStore(deps.objects, scope);
    const snapshot = await loadSnapshot(objects, table.root, 1);
    expect(snapshot.metaData?.partitionColumns).toEqual(['date']);
    const rows = await readRows(objects, table.root, snapshot);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({ asset: 'analytics.orders', run_id: 'run1', date: '2026-11-22' });
  });

  it('lands a redelivered dispatch on the same version, and the next attempt on a new one', async () => {
    expect((await runDispatch(deps, envelope())).output).toMatchObject({ deltaVersion: 1 });
    const next = await runDispatch(
      deps,
      envelope({ runId: 'run2', attemptId: 'att_2', partitionKey: 'date=2026-11-23' }),
    );
    expect(next.output).toMatchObject({ deltaVersion: 2, deltaPartition: 'date=2026-11-23' });
  });

  it('writes an hourly partition where the logged add.path decodes to the object it wrote', async () => {
    const hourly = envelope({
      taskKey: 'analytics.hourly_orders',
      attemptId: 'att_hourly',
      partitionKey: 'hour=t:2025-01-15T10:00:00.000000Z',
    });
    expect((await runDispatch(deps, hourly)).output).toMatchObject({ deltaVersion: 1 });
    const { catalog } = deltaServices(deps, scope);
    const table = (await catalog.findByName('analytics.hourly_orders'))!;
    const objects = scopedObjectStore(deps.objects, scope);
    const snapshot = await loadSnapshot(objects, table.root, 1);
    const [file] = snapshot.files;
    expect(file!.partitionValues).toEqual({ hour: '2025-01-15T10:00:00.000000Z' });
    // Spark's directory name (Hive-escaped `:`), and add.path is its URI encoding.
    const physical = 'hour=2025-01-15T10%3A00%3A00.000000Z/part-att_hourly.parquet';
    expect(file!.path).toBe('hour=2025-01-15T10%253A00%253A00.000000Z/part-att_hourly.parquet');
    expect(decodeURIComponent(file!.path)).toBe(physical);
    expect(await objects.head(`${table.root}/${physical}`)).not.toBeNull();
    const rows = await readRows(objects, table.root, snapshot);
    expect(rows.map((r) => r.hour)).toEqual(Array(3).fill('2025-01-15T10:00:00.000000Z'));
  });

  it('fails on purpose when told to, with the error category', async () => {
    const before = api.requests.length;
    const failing = envelope({
      attemptId: 'att_f',
      payload: {
        failUntilAttempt: 1,
        failWith: { category: 'DATA_QUALITY', message: 'missing required columns [x]' },
      },
    });
    expect(await runDispatch(deps, failing)).toEqual({ outcome: 'FAILED' });
    const completed = JSON.parse(api.requests[before + 1]!.body);
    expect(completed).toMatchObject({
      outcome: 'FAILED',
      error: { category: 'DATA_QUALITY', message: 'missing required columns [x]' },
    });
  });

  it('stops without writing when the orchestrator refuses `started`', async () => {
    const refusing = await startRecordingServer([409]);
    const result = await runDispatch(deps, {
      ...envelope({ attemptId: 'att_refused' }),
      callbackBaseUrl: refusing.url,
    });
    expect(result).toEqual({ outcome: 'ABORTED' });
    expect(refusing.requests).toHaveLength(1);
    await refusing.close();
  });

  it('accepts snake_case envelopes and refuses incomplete ones', () => {
    expect(
      parseDispatchEnvelope({
        tenant_id: 't',
        workspace_id: 'w',
        task_key: 'a.b',
        run_id: 'r',
        attempt: 2,
        attempt_id: 'x',
        dispatch_id: 'd',
        callback_base_url: 'http://127.0.0.1:1',
        task_token: 'tok',
      }),
    ).toMatchObject({ taskId: 'a.b', taskKey: 'a.b', attempt: 2, payload: {} });
    expect(() => parseDispatchEnvelope({ taskKey: 'a' })).toThrow('dispatch envelope');
  });
});
