import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStack, startLocalStack } from '../support/localStack.ts';

interface Task {
  taskKey: string;
  assetKey?: string;
  state: string;
  attempt: number;
  executionLineageRef?: string;
  deltaTable?: string;
  deltaVersion?: number;
  deltaPartition?: string;
  retryAttribution?: Record<string, unknown>;
  skipAttribution?: Record<string, unknown>;
}

/** Runbook 000 (lineage verification and conflict diagnostics) step by step against `npm start`'s demo run. */
describe('runbook 000 against npm start', () => {
  let stack: RunningStack;
  let TOKEN: string;
  let BASE_URL: string;
  const WORKSPACE_ID = 'demo';
  const get = async <T>(path: string) =>
    (await (
      await fetch(`${BASE_URL}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    ).json()) as T;

  /** A run just created may take up to about a publish interval to read back (docs/visibility.md). */
  const getEventually = async <T>(path: string) => {
    for (let attempt = 0; ; attempt += 1) {
      const response = await fetch(`${BASE_URL}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      if (response.status !== 404 || attempt >= 40) return (await response.json()) as T;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    stack = await startLocalStack({ ARCO_AUTOTICK: '0' });
    BASE_URL = stack.url;
    TOKEN = stack.token(['--tenant', 'demo', '--workspace', 'demo', '--roles', 'operator,producer,consumer']);
  });
  afterAll(() => stack.stop());

  it('§1–§2: lineage from run to partitions, retry and skip diagnostics, deterministic on repeated reads', async () => {
    const { runs } = await get<{ runs: Array<{ runId: string }> }>(`/api/v1/workspaces/${WORKSPACE_ID}/runs`);
    expect(runs).toHaveLength(1);
    const RUN_ID = runs[0]!.runId;
    let run: { state: string; tasks: Task[] } = { state: 'PENDING', tasks: [] };
    const deadline = Date.now() + 60_000;
    while (!['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.state) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      run = await get(`/api/v1/workspaces/${WORKSPACE_ID}/runs/${RUN_ID}`);
    }
    expect(run.state).toBe('FAILED');

    // Step 1: succeeded task rows carry the four lineage fields.
    const succeeded = run.tasks.filter((t) => t.state === 'SUCCEEDED');
    expect(succeeded.length).toBeGreaterThanOrEqual(4);
    for (const task of succeeded)
      for (const field of ['executionLineageRef', 'deltaTable', 'deltaVersion', 'deltaPartition'] as const)
        expect(task[field], `${task.taskKey}.${field}`).toBeDefined();

    // Steps 2–3: the partition row of the same asset + partition has the same four values.
    for (const task of succeeded) {
      const { partitions } = await get<{ partitions: Array<Record<string, unknown>> }>(
        `/api/v1/workspaces/${WORKSPACE_ID}/partitions?asset=${task.assetKey}&limit=100`,
      );
      const row = partitions.find((p) => p.partitionKey === task.deltaPartition)!;
      for (const field of ['executionLineageRef', 'deltaTable', 'deltaVersion', 'deltaPartition'] as const)
        expect(row[field], `${task.taskKey}.${field}`).toEqual(task[field]);
    }

    // §2: retry attribution on attempt > 1, skip attribution on skipped tasks.
    const retried = run.tasks.filter((t) => t.attempt > 1);
    expect(retried.map((t) => t.taskKey)).toEqual(['analytics.orders']);
    expect(retried[0]!.retryAttribution).toMatchObject({
      retries: 1,
      attempt: 2,
      maxAttempts: 3,
      reason: 'prior_attempt_failed',
    });
    const skipped = run.tasks.filter((t) => t.state === 'SKIPPED');
    expect(skipped.map((t) => [t.taskKey, t.skipAttribution])).toEqual([
      ['activation.churn_alerts', { upstreamTaskKey: 'ml.churn_features', upstreamResolution: 'FAILED' }],
    ]);
    expect(await get(`/api/v1/workspaces/${WORKSPACE_ID}/runs/${RUN_ID}`)).toEqual(run);

    // §2 step 1: rerun-created runs carry a deterministic rerunReason, on the response and on GET.
    const rerun = (body: object) =>
      fetch(`${BASE_URL}/api/v1/workspaces/${WORKSPACE_ID}/runs/${RUN_ID}/rerun`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const fromFailure = await rerun({ mode: 'fromFailure' });
    expect(fromFailure.status).toBe(201);
    const created = (await fromFailure.json()) as {
      runId: string;
      parentRunId: string;
      rerunKind: string;
      rerunReason: string;
    };
    expect(created).toMatchObject({
      parentRunId: RUN_ID,
      rerunKind: 'FROM_FAILURE',
      rerunReason: 'from_failure',
    });
    const again = await rerun({ mode: 'fromFailure' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { runId: string }).runId).toBe(created.runId);
    const child = await getEventually<{ rerunReason: string; parentRunId: string; tasks: Task[] }>(
      `/api/v1/workspaces/${WORKSPACE_ID}/runs/${created.runId}`,
    );
    expect(child).toMatchObject({ rerunReason: 'from_failure', parentRunId: RUN_ID });
    expect(child.tasks.map((t) => t.taskKey)).toEqual(['activation.churn_alerts', 'ml.churn_features']);
    const subset = await rerun({ mode: 'subset', selection: ['analytics.orders'], includeDownstream: true });
    expect(subset.status).toBe(201);
    const subsetRun = await getEventually<{ rerunReason: string; tasks: Task[] }>(
      `/api/v1/workspaces/${WORKSPACE_ID}/runs/${((await subset.json()) as { runId: string }).runId}`,
    );
    expect(subsetRun.rerunReason).toBe('subset');
    expect(subsetRun.tasks.map((t) => t.taskKey)).toEqual(['analytics.daily_revenue', 'analytics.orders']);
    expect((await rerun({ mode: 'subset', selection: ['nope.nothing'] })).status).toBe(400);
  });

  it('§3: a run key reused with another payload answers 409 with every details field', async () => {
    const post = (body: object) =>
      fetch(`${BASE_URL}/api/v1/workspaces/${WORKSPACE_ID}/runs`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const first = await post({ selection: ['analytics.orders'], runKey: 'ops-conflict-check' });
    expect(first.status).toBe(201);
    const second = await post({ selection: ['analytics.customers'], runKey: 'ops-conflict-check' });
    expect(second.status).toBe(409);
    const body = (await second.json()) as { details: Record<string, unknown> };
    expect(body.details.conflictType).toBe('RUN_KEY_FINGERPRINT_MISMATCH');
    for (const field of [
      'runKey',
      'existingFingerprint',
      'requestedFingerprint',
      'existingRunId',
      'existingPlanId',
      'existingCreatedAt',
    ])
      expect(body.details[field], field).toBeTruthy();
  });
});
