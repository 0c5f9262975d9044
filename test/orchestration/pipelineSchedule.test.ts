import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionHost } from '../../local/functionHost.ts';
import { startHostOnEmulators } from '../../local/hostOnEmulators.ts';
import { hostClient } from '../support/hostClient.ts';
import { startRecordingServer } from '../support/recordingServer.ts';
import {
  createTestBucket,
  TEST_SECRET,
  testPushSubscriptions,
  uniqueName,
} from '../support/testDependencies.ts';

const daily = { dimensions: [{ name: 'date', kind: 'time', granularity: 'day' }] };

/**
 * A pipeline's daily schedule (pipeline-ops §1.1) takes the same path as `pipeline run --start D --end D`;
 * a day that already has an active run is skipped as `partition_busy`; workers get `payload.pipeline`.
 */
describe('pipeline schedules and the dispatch payload of pipeline runs', () => {
  let host: FunctionHost;
  let worker: Awaited<ReturnType<typeof startRecordingServer>>;
  beforeAll(async () => {
    host = await startHostOnEmulators({
      bucket: await createTestBucket(),
      secret: TEST_SECRET,
      pushToken: 'push',
      pushSubscriptions: testPushSubscriptions(),
    });
    // A worker that accepts dispatches and never reports back keeps its runs active.
    worker = await startRecordingServer();
  });
  afterAll(async () => {
    await host?.close();
    await worker?.close();
  });

  it('ticks the pipeline for the tick’s day, skips a busy day, and sends as-of and upstream runs to the worker', async () => {
    const w = await hostClient(host, { tenant: 'acme', workspace: uniqueName('pipe') });
    const deployed = await w.call('POST', `${w.ws}/manifests`, {
      codeVersionId: 'v1',
      workerUrl: `${worker.url}/work`,
      assets: [
        { key: 'demo.ingest', partitioning: daily },
        { key: 'demo.score', partitioning: daily, dependencies: [{ upstreamKey: 'demo.ingest' }] },
      ],
      pipelines: [
        {
          name: 'live',
          default: true,
          assets: ['demo.ingest', 'demo.score'],
          partitionDimension: 'date',
          timezone: 'UTC',
        },
      ],
      schedules: [{ id: 'live_daily', cron: '0 6 * * *', timezone: 'UTC', pipeline: 'live' }],
    });
    expect(deployed.status).toBe(201);
    const ticked = await w.tick('2026-11-20T07:00:00Z');
    expect(ticked.schedules).toMatchObject({ triggered: 1 });
    const ticks = async () =>
      (
        await w.call<{
          ticks: Array<{ status: string; runId?: string; skipReason?: string; runKey?: string }>;
        }>('GET', `${w.ws}/schedules/live_daily/ticks`)
      ).body.ticks;
    const [first] = await ticks();
    expect(first).toMatchObject({
      status: 'TRIGGERED',
      runId: expect.any(String),
      runKey: expect.stringMatching(/^pipeline:pb_.*:date=d:2026-11-20$/),
    });
    const run = await w.call<{ labels: Record<string, string> }>('GET', `${w.ws}/runs/${first!.runId}`);
    expect(run.body.labels).toMatchObject({
      'arco.pipeline': 'live',
      'arco.partition': 'date=2026-11-20',
      'arco.as_of_mode': 'now',
    });

    const [dispatch] = await worker.waitFor(1);
    const envelope = JSON.parse(dispatch!.body) as { payload: { pipeline: Record<string, unknown> } };
    expect(envelope.payload.pipeline).toMatchObject({
      name: 'live',
      partitionKey: 'date=d:2026-11-20',
      partitionValues: { date: '2026-11-20' },
      asOf: { mode: 'now', clamped: false },
      upstream: {},
      outputPrefix: expect.stringMatching(
        new RegExp(`/data/demo\\.ingest/date=2026-11-20/run=${first!.runId}/$`),
      ),
    });

    // The 20th's run never finishes (its worker does not call back): a manual start of the same day
    // waits, and the schedule's catch-up tick for that day would be skipped as busy.
    const plan = await w.call<{ plan: { counts: { byAction: Record<string, number> } } }>(
      'POST',
      `${w.ws}/pipelines/live/runs`,
      { start: '2026-11-20', end: '2026-11-20', dryRun: true },
    );
    expect(plan.body.plan.counts.byAction).toEqual({ wait: 1 });
    await w.call('PUT', `${w.ws}/schedules/live_daily`, {
      cronExpression: '30 6 * * *',
      timezone: 'UTC',
      assetSelection: ['demo.ingest', 'demo.score'],
      pipeline: 'live',
      catchupWindowMinutes: 60,
    });
    await w.tick('2026-11-20T07:00:00Z');
    expect((await ticks())[0]).toMatchObject({ status: 'SKIPPED', skipReason: 'partition_busy' });

    // Cancel: the day already running goes on, the days not started never start.
    const started = await w.call<{ backfillId: string }>('POST', `${w.ws}/pipelines/live/runs`, {
      start: '2026-11-01',
      end: '2026-11-03',
      maxParallel: 1,
    });
    expect(started.status).toBe(202);
    const cancelled = await w.call<{ state: string; counts: Record<string, number> }>(
      'POST',
      `${w.ws}/pipeline-backfills/${started.body.backfillId}/cancel`,
      {},
    );
    expect(cancelled.body).toMatchObject({
      state: 'CANCELING',
      counts: { running: 1, cancelled: 2, pending: 0 },
    });
    await w.tick('2026-11-20T07:00:00Z');
    const runsOfDays = (await w.call<{ runs: unknown[] }>('GET', `${w.ws}/runs?pipeline=live&limit=200`)).body
      .runs;
    expect(runsOfDays).toHaveLength(2);
    expect((await w.call('POST', `${w.ws}/pipeline-backfills/nope/cancel`, {})).status).toBe(404);
  });
});
