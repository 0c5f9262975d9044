import { spawn, spawnSync } from 'node:child_process';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStack, startLocalStack } from '../support/localStack.ts';

const daily = { dimensions: [{ name: 'date', kind: 'time', granularity: 'day' }] };
const START = '2026-10-01';
const END = '2026-10-10';
const TRANSIENT_DAY = '2026-10-03';
const SCHEMA_DAY = '2026-10-06';

/**
 * Runbook 003 lived with the `pipeline`/`arco` CLI against `npm start`: a 10-day backfill with
 * `--max-parallel 3` where one day fails transiently (retried and recovered) and one breaks its output
 * contract (held as category C), interrupted with Ctrl-C, resumed with `--resume` (only the unsuccessful
 * day runs again), a summary.json, manifests for every step of every day, pointers only for days whose
 * checks passed, triage and the daily checklist, and a pointer rollback.
 */
describe('runbook 003 against npm start: daily pipeline, resumable backfill, triage, pointers', () => {
  let stack: RunningStack;
  let env: Record<string, string>;
  const manifest = (schemaViolationPartitions: string[]) => ({
    codeVersionId: schemaViolationPartitions.length ? 'v1' : 'v2',
    retryPolicy: { maxAttempts: 3, initialBackoffSeconds: 1, maxBackoffSeconds: 2 },
    assets: [
      { key: 'demo.ingest', partitioning: daily, payload: { transientPartitions: [TRANSIENT_DAY] } },
      {
        key: 'demo.features',
        partitioning: daily,
        dependencies: [{ upstreamKey: 'demo.ingest' }],
        payload: { schemaViolationPartitions },
      },
      { key: 'demo.score', partitioning: daily, dependencies: [{ upstreamKey: 'demo.features' }] },
    ],
    pipelines: [
      {
        name: 'live',
        default: true,
        assets: ['demo.ingest', 'demo.features', 'demo.score'],
        partitionDimension: 'date',
        timezone: 'UTC',
        asOf: {
          defaultMode: 'now',
          pretip: { leadMinutes: 15, calendar: { type: 'fixed_local_time', localTime: '19:00' } },
        },
        steps: { 'demo.score': { sideEffects: 'run_scoped', models: ['scorer'] } },
        publish: { dataPointers: ['demo.score'] },
        maxParallelDefault: 2,
      },
    ],
  });
  const api = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${env.ARCO_TOKEN}`, 'Content-Type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await response.json()) as T;
  };
  const deploy = async (violations: string[]) =>
    api('POST', '/api/v1/workspaces/ops/manifests', {
      ...manifest(violations),
      workerUrl: `${stack.url}/worker`,
    });
  /** `pipeline …` as the operator types it. */
  const pipeline = (args: string[]) =>
    spawnSync(process.execPath, ['bin/pipeline.mjs', ...args], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 180_000,
    });
  const arco = (args: string[]) =>
    spawnSync(process.execPath, ['bin/arco.mjs', ...args], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  interface RunItem {
    runId: string;
    state: string;
    createdAt: string;
    completedAt?: string;
  }
  const pipelineRuns = async () =>
    (await api<{ runs: RunItem[] }>('GET', '/api/v1/workspaces/ops/runs?pipeline=live&limit=200')).runs;
  const runOf = async (day: string) =>
    (
      await api<{ runs: RunItem[] }>(
        'GET',
        `/api/v1/workspaces/ops/runs?pipeline=live&partitionKey=date%3Dd%3A${day}&limit=200`,
      )
    ).runs;

  beforeAll(async () => {
    stack = await startLocalStack({ ARCO_DEMO: '0' });
    env = {
      ARCO_API_URL: stack.url,
      ARCO_TOKEN: stack.token([
        '--tenant',
        'acme',
        '--workspace',
        'ops',
        '--roles',
        'operator,producer,consumer',
      ]),
      ARCO_DATA_DIR: stack.dataDir,
    };
    await deploy([SCHEMA_DAY]);
  });
  afterAll(() => stack?.stop());

  let backfillId = '';

  it('before any run: an empty backfill list exits 0, the checklist says how to start the day, and a day that is no calendar day is 400', async () => {
    const none = pipeline(['backfills']);
    expect(none.status, none.stderr).toBe(0);
    expect(none.stderr).toBe('no pipeline backfills yet\n');
    // Before any run of the pipeline: the checklist says how to start the day's run.
    const before = arco(['status', '--date', '2026-09-01']);
    expect(before.status, before.stderr + before.stdout).toBe(2);
    expect(before.stdout).toContain(
      "1. Did today's run succeed?  NONE\n   no run of live for 2026-09-01 yet: npx pipeline run --pipeline live --start 2026-09-01 --end 2026-09-01\n",
    );
    const triage = arco(['triage', '--date', '2026-09-01']);
    expect(triage.status).toBe(1);
    expect(triage.stderr).toContain('no run of live for 2026-09-01: give a run id, or start');
    const response = await fetch(
      `${stack.url}/api/v1/workspaces/ops/pipelines/live/partitions/2026-02-30/checklist`,
      {
        headers: { Authorization: `Bearer ${env.ARCO_TOKEN}` },
      },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'dates must be YYYY-MM-DD, today or yesterday; got 2026-02-30',
    });
  });

  it('runs ten days at most three at a time, detaches on Ctrl-C, and the backfill finishes server-side', async () => {
    const child = spawn(
      process.execPath,
      [
        'bin/pipeline.mjs',
        'run',
        '--start',
        START,
        '--end',
        END,
        '--as-of-mode',
        'pretip',
        '--max-parallel',
        '3',
      ],
      {
        env: { ...process.env, ...env },
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (!/ succeeded run=/.test(output) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await exited, output).toBe(130);
    expect(output).toMatch(/detached; backfill (pb_\S+) continues/);
    backfillId = /backfill (pb_\S+) started/.exec(output)![1]!;

    let summary: { state: string; counts: Record<string, number> } = { state: 'RUNNING', counts: {} };
    const until = Date.now() + 150_000;
    while (summary.state === 'RUNNING' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 1000));
      summary = await api('GET', `/api/v1/workspaces/ops/pipeline-backfills/${backfillId}`);
    }
    expect(summary).toMatchObject({
      state: 'FAILED',
      counts: { total: 10, succeeded: 9, failed: 1, held: 0 },
    });

    // Never more than three runs at once: no instant is inside four runs' [created, completed] spans.
    const runs = await pipelineRuns();
    expect(runs).toHaveLength(10);
    const instants = runs.flatMap((r) => [Date.parse(r.createdAt), Date.parse(r.completedAt!)]);
    for (const t of instants)
      expect(
        runs.filter((r) => Date.parse(r.createdAt) <= t && t < Date.parse(r.completedAt!)).length,
      ).toBeLessThanOrEqual(3);
  });

  it('recovered the transient day by retrying, failed the contract day as C, wrote every manifest, and moved pointers only for good days', async () => {
    const [transient] = await runOf(TRANSIENT_DAY);
    const run = await api<{ state: string; tasks: Array<Record<string, unknown>> }>(
      'GET',
      `/api/v1/workspaces/ops/runs/${transient!.runId}`,
    );
    expect(run.state).toBe('SUCCEEDED');
    expect(run.tasks.find((t) => t.taskKey === 'demo.ingest')).toMatchObject({
      attempt: 2,
      retryAttribution: { reason: 'prior_attempt_failed', previousAttempt: { attempt: 1 } },
    });
    const attempt1 = await api(
      'GET',
      `/api/v1/workspaces/ops/manifests/step?assetKey=demo.ingest&partitionKey=${TRANSIENT_DAY}&runId=${transient!.runId}&attempt=1`,
    );
    expect(attempt1).toMatchObject({
      kind: 'attempt',
      status: 'failed',
      error: { failureClass: 'TRANSIENT_NETWORK', retryCategory: 'A', signature: 'dns' },
      retry: { willRetry: true },
    });

    const [broken] = await runOf(SCHEMA_DAY);
    const brokenRun = await api<{ state: string; tasks: Array<Record<string, unknown>> }>(
      'GET',
      `/api/v1/workspaces/ops/runs/${broken!.runId}`,
    );
    expect(brokenRun.tasks.find((t) => t.taskKey === 'demo.features')).toMatchObject({
      state: 'FAILED',
      attempt: 1,
      failureClass: 'CONTRACT_VIOLATION',
      retryCategory: 'C',
    });

    for (const r of await pipelineRuns()) {
      const listed = await api<{
        manifests: Array<{ manifestState: string; status: string }>;
        missing: string[];
      }>('GET', `/api/v1/workspaces/ops/runs/${r.runId}/manifests`);
      expect(listed.missing, r.runId).toEqual([]);
      expect(listed.manifests).toHaveLength(3);
    }
    const step = await api(
      'GET',
      `/api/v1/workspaces/ops/manifests/step?assetKey=demo.score&partitionKey=2026-10-01&runId=${(await runOf('2026-10-01'))[0]!.runId}`,
    );
    expect(step).toMatchObject({
      manifestVersion: 'v1',
      kind: 'step',
      pipeline: 'live',
      status: 'success',
      asOf: { mode: 'pretip', ts: '2026-10-01T18:45:00.000Z' },
      runMode: 'backfill',
    });

    const pointer = (day: string) =>
      fetch(`${stack.url}/api/v1/workspaces/ops/pointers/data?assetKey=demo.score&partitionKey=${day}`, {
        headers: { Authorization: `Bearer ${env.ARCO_TOKEN}` },
      });
    expect((await pointer('2026-10-01')).status).toBe(200);
    expect((await pointer(SCHEMA_DAY)).status).toBe(404);

    const triage = arco(['triage', broken!.runId]);
    expect(triage.status).toBe(2);
    expect(triage.stdout).toContain('class: CONTRACT_VIOLATION');
    expect(triage.stdout).toContain('do not retry blindly');
    expect(triage.stdout).toContain(`run: arco rerun ${broken!.runId} --from-failure`);
    // The CLI is the front door for the rest of the API too.
    for (const args of [
      ['partitions', '--asset', 'demo.score'],
      ['runs', 'ls', '--pipeline', 'live'],
      ['schedules', 'ls'],
      ['sensors', 'ls'],
      ['backfills', 'ls'],
      ['registry', 'datasets'],
      ['manifests', 'ls', '--run', broken!.runId],
    ]) {
      const out = arco(args);
      expect(out.status, `${args.join(' ')}: ${out.stderr}`).toBe(0);
    }
    expect(arco(['partitions', '--asset', 'demo.score']).stdout).toContain('date=2026-10-01');
    expect(arco(['partitions', '--asset', 'demo.score']).stdout).not.toContain('=d:');
    const status = arco(['status', '--date', SCHEMA_DAY]);
    expect(status.status).toBe(2);
    expect(status.stdout).toContain(`live date=${SCHEMA_DAY}: ATTENTION\n`);
    expect(status.stdout).toContain("1. Did today's run succeed?  FAILED");
    expect(status.stdout).toContain('demo.features: CONTRACT_VIOLATION (category C)');
    expect(status.stdout).toContain('3. Do manifests exist for every step?  3/3');
  });

  it('resumes: skips the succeeded days, holds the contract day until --retry-held after the fix, and writes summary.json', async () => {
    const before = (await pipelineRuns()).length;
    const dry = pipeline([
      'run',
      '--start',
      START,
      '--end',
      END,
      '--as-of-mode',
      'pretip',
      '--resume',
      '--dry-run',
      '--json',
    ]);
    expect(JSON.parse(dry.stdout).counts.byAction).toEqual({ skip_succeeded: 9, held: 1 });
    const held = pipeline([
      'run',
      '--start',
      START,
      '--end',
      END,
      '--as-of-mode',
      'pretip',
      '--max-parallel',
      '3',
      '--resume',
    ]);
    expect(held.status, held.stdout + held.stderr).toBe(2);
    expect(held.stdout).toContain('--resume --retry-held');
    expect((await pipelineRuns()).length).toBe(before);

    await deploy([]);
    const fixed = pipeline([
      'run',
      '--start',
      START,
      '--end',
      END,
      '--as-of-mode',
      'pretip',
      '--max-parallel',
      '3',
      '--resume',
      '--retry-held',
      '--json',
    ]);
    expect(fixed.status, fixed.stdout + fixed.stderr).toBe(0);
    const summary = JSON.parse(fixed.stdout) as {
      backfillId: string;
      state: string;
      counts: Record<string, number>;
      partitions: Array<{ partition: string; action: string; status: string }>;
    };
    expect(summary).toMatchObject({
      state: 'SUCCEEDED',
      counts: { total: 10, succeeded: 1, skippedSucceeded: 9, failed: 0, held: 0 },
    });
    expect(summary.partitions.filter((p) => p.action !== 'skip_succeeded').map((p) => p.partition)).toEqual([
      SCHEMA_DAY,
    ]);
    expect((await pipelineRuns()).length).toBe(before + 1);
    // The rerun re-executed only the steps that had not succeeded, reading ingest from the first run.
    const [rerun, first] = await runOf(SCHEMA_DAY);
    const features = await api<{ inputs: Array<Record<string, unknown>> }>(
      'GET',
      `/api/v1/workspaces/ops/manifests/step?assetKey=demo.features&partitionKey=${SCHEMA_DAY}&runId=${rerun!.runId}`,
    );
    expect(features.inputs).toContainEqual(
      expect.objectContaining({ kind: 'asset', assetKey: 'demo.ingest', runId: first!.runId }),
    );
    const stored = arco(['pipeline', 'backfill', 'summary', summary.backfillId]);
    expect(JSON.parse(stored.stdout)).toMatchObject({
      summaryVersion: 'v1',
      backfillId: summary.backfillId,
      state: 'SUCCEEDED',
      counts: { succeeded: 1, skippedSucceeded: 9 },
    });
    const again = pipeline([
      'run',
      '--start',
      START,
      '--end',
      END,
      '--as-of-mode',
      'pretip',
      '--resume',
      '--dry-run',
      '--json',
    ]);
    expect(JSON.parse(again.stdout).counts.byAction).toEqual({ skip_succeeded: 10 });
  });

  it('promotes a newer run of a day and rolls the pointer back to the previous one atomically', async () => {
    const rerun = pipeline(['run', '--start', START, '--end', START, '--as-of-mode', 'pretip']);
    expect(rerun.status, rerun.stdout + rerun.stderr + stack.output().slice(-4000)).toBe(0);
    const [newest, oldest] = await runOf(START);
    const history = () =>
      arco(['pointer', 'history', 'data:demo.score', '--partition', START]).stdout.trim().split('\n');
    expect(history()[0]).toContain(`run=${newest!.runId}`);
    const rolledBack = arco([
      'pointer',
      'rollback',
      'data:demo.score',
      '--partition',
      START,
      '--reason',
      'bad model output',
    ]);
    expect(rolledBack.stdout).toContain(`→ 3 (run ${oldest!.runId})`);
    const entries = history();
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatch(new RegExp(`^3\\s+rollback\\s+run=${oldest!.runId}`));
    const shown = JSON.parse(arco(['pointer', 'show', 'data:demo.score', '--partition', START]).stdout);
    expect(shown).toMatchObject({
      sequence: 3,
      runId: oldest!.runId,
      action: 'rollback',
      previous: { sequence: 2, runId: newest!.runId },
    });
  });

  it('promotes a model head atomically, pins it in the next run’s manifests, and rolls it back', async () => {
    const stackEnv = stack.env();
    const bucket = new Storage({
      apiEndpoint: stackEnv.STORAGE_EMULATOR_HOST,
      projectId: stackEnv.GOOGLE_CLOUD_PROJECT,
    }).bucket(stackEnv.ARCO_STORAGE_BUCKET!);
    const artifact = (run: string) =>
      bucket
        .file(`tenant=acme/workspace=ops/models/scorer/${run}/meta.json`)
        .save(JSON.stringify({ backend: 'lgbm', run }));
    // A candidate without meta.json is refused; with one, the pointer moves by compare-and-swap.
    expect(
      arco([
        'pointer',
        'promote',
        'model:scorer',
        '--run',
        'scorer_v1',
        '--artifact-uri',
        'models/scorer/scorer_v1/',
      ]).stderr,
    ).toContain('meta.json');
    await artifact('scorer_v1');
    await artifact('scorer_v2');
    expect(
      arco([
        'pointer',
        'promote',
        'model:scorer',
        '--run',
        'scorer_v1',
        '--artifact-uri',
        'models/scorer/scorer_v1/',
        '--meta',
        'backend=lgbm',
      ]).status,
    ).toBe(0);
    const promoted = arco([
      'pointer',
      'promote',
      'model:scorer',
      '--run',
      'scorer_v2',
      '--artifact-uri',
      'models/scorer/scorer_v2/',
      '--expected-sequence',
      '1',
      '--reason',
      'eval passed',
    ]);
    expect(promoted.stdout, promoted.stderr).toContain('→ 2 (run scorer_v2)');
    // The next run of a day uses the new model, and its manifests say so.
    expect(pipeline(['run', '--start', END, '--end', END, '--as-of-mode', 'pretip']).status).toBe(0);
    const [latest] = await runOf(END);
    const manifest = await api<{ inputs: Array<Record<string, unknown>> }>(
      'GET',
      `/api/v1/workspaces/ops/manifests/step?assetKey=demo.score&partitionKey=${END}&runId=${latest!.runId}`,
    );
    expect(manifest.inputs).toContainEqual(
      expect.objectContaining({ kind: 'model', modelName: 'scorer', runId: 'scorer_v2', pointerSequence: 2 }),
    );
    // Rollback restores the previous pointer contents as a new sequence.
    const rolledBack = arco([
      'pointer',
      'rollback',
      'model:scorer',
      '--reason',
      'regression in smoke scoring',
    ]);
    expect(rolledBack.stdout, rolledBack.stderr).toContain('→ 3 (run scorer_v1)');
    expect(JSON.parse(arco(['pointer', 'show', 'model:scorer']).stdout)).toMatchObject({
      sequence: 3,
      runId: 'scorer_v1',
      artifactUri: 'models/scorer/scorer_v1/',
      action: 'rollback',
    });
  });
});
