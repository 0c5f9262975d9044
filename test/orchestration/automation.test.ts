import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PubSub } from '@google-cloud/pubsub';
import type { FunctionHost } from '../../local/functionHost.ts';
import { startHostOnEmulators } from '../../local/hostOnEmulators.ts';
import { SENSOR_EVENTS_TOPIC } from '../../shared/runtime/resources.ts';
import { hostClient } from '../support/hostClient.ts';
import {
  bearer,
  createTestBucket,
  TEST_SECRET,
  testPushSubscriptions,
  uniqueName,
} from '../support/testDependencies.ts';

const daily = { dimensions: [{ name: 'date', kind: 'time', granularity: 'day' }] };
const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

interface Tick {
  tickId: string;
  status: string;
  scheduledFor: string;
  runId?: string;
  runKey?: string;
  skipReason?: string;
}

/** Schedules, sensors and backfills driven by the automation tick with injected times (spec §14–§16). */
describe('automation: schedules, sensors and backfills on the emulators', () => {
  let host: FunctionHost;
  const subscriptions = testPushSubscriptions();
  beforeAll(async () => {
    host = await startHostOnEmulators({
      bucket: await createTestBucket(),
      secret: TEST_SECRET,
      pushToken: 'push-secret',
      pushSubscriptions: subscriptions,
    });
  });
  afterAll(() => host?.close());

  const workspace = async (manifest: Record<string, unknown>) => {
    const scope = { tenant: 'acme', workspace: uniqueName('auto') };
    const client = await hostClient(host, scope);
    const deployed = await client.call('POST', `${client.ws}/manifests`, {
      codeVersionId: 'v1',
      workerUrl: `${host.url}/worker`,
      retryPolicy: { maxAttempts: 2, initialBackoffSeconds: 1, maxBackoffSeconds: 1 },
      ...manifest,
    });
    expect(deployed.status).toBe(201);
    return { ...client, scope };
  };

  it('fires schedule ticks in their time zone with bounded catch-up, once per tick, and skips while disabled', async () => {
    const w = await workspace({ assets: [{ key: 'ops.check' }, { key: 'raw.orders', partitioning: daily }] });
    const hourly = {
      cronExpression: '0 * * * *',
      timezone: 'UTC',
      catchupWindowMinutes: 180,
      maxCatchupTicks: 2,
      assetSelection: ['ops.check'],
    };
    const created = await w.call('PUT', `${w.ws}/schedules/hourly`, hourly);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      scheduleId: 'hourly',
      enabled: true,
      definitionVersion: expect.any(String),
    });
    const again = await w.call('PUT', `${w.ws}/schedules/hourly`, hourly);
    expect(again).toMatchObject({ status: 200, body: { definitionVersion: created.body.definitionVersion } });
    expect(
      (await w.call('PUT', `${w.ws}/schedules/bad`, { ...hourly, cronExpression: '61 * * * *' })).status,
    ).toBe(400);
    expect(
      (await w.call('PUT', `${w.ws}/schedules/bad`, { ...hourly, timezone: 'Mars/Olympus' })).body,
    ).toMatchObject({
      message: 'unknown time zone Mars/Olympus',
    });
    // Berlin's 02:30 does not exist on 2026-03-29: the tick fires once, at 03:30 CEST, for that day.
    await w.call('PUT', `${w.ws}/schedules/nightly`, {
      cronExpression: '30 2 * * *',
      timezone: 'Europe/Berlin',
      catchupWindowMinutes: 24 * 60,
      maxCatchupTicks: 5,
      assetSelection: ['raw.orders'],
      partitionFromTick: 'date',
    });

    const first = await w.tick('2026-03-29T10:30:00Z');
    expect(first.schedules).toEqual({ triggered: 3, skipped: 0, failed: 0 });
    const ticks = async (id: string) =>
      (await w.call<{ ticks: Tick[] }>('GET', `${w.ws}/schedules/${id}/ticks`)).body.ticks;
    expect((await ticks('hourly')).map((t) => [t.scheduledFor, t.status, t.runKey])).toEqual([
      ['2026-03-29T09:00:00.000Z', 'TRIGGERED', `sched:hourly:${Date.parse('2026-03-29T09:00:00Z') / 1000}`],
      ['2026-03-29T08:00:00.000Z', 'TRIGGERED', `sched:hourly:${Date.parse('2026-03-29T08:00:00Z') / 1000}`],
    ]);
    const [nightly] = await ticks('nightly');
    expect(nightly).toMatchObject({ scheduledFor: '2026-03-29T01:30:00.000Z', status: 'TRIGGERED' });
    const nightlyRun = await w.call<{ tasks: Array<{ partitionKey?: string; deltaPartition?: string }> }>(
      'GET',
      `${w.ws}/runs/${nightly!.runId}`,
    );
    expect(nightlyRun.status).toBe(200);

    // Catch-up is bounded per evaluation: the next pass at the same `now` takes the 10:00 tick, the
    // one after that finds nothing left, and neither does a tick a minute later.
    expect((await w.tick('2026-03-29T10:30:00Z')).schedules).toEqual({ triggered: 1, skipped: 0, failed: 0 });
    expect((await w.tick('2026-03-29T10:30:00Z')).schedules).toEqual({ triggered: 0, skipped: 0, failed: 0 });
    expect((await w.tick('2026-03-29T10:31:00Z')).schedules).toEqual({ triggered: 0, skipped: 0, failed: 0 });
    const runs = await w.call<{ runs: unknown[] }>('GET', `${w.ws}/runs?limit=200`);
    expect(runs.body.runs).toHaveLength(4);

    const disabled = await w.call('POST', `${w.ws}/schedules/hourly/disable`, {});
    expect(disabled.body).toMatchObject({
      enabled: false,
      lastTickId: `hourly:${Date.parse('2026-03-29T10:00:00Z') / 1000}`,
    });
    await w.tick('2026-03-29T11:00:00Z');
    expect((await ticks('hourly'))[0]).toMatchObject({
      status: 'SKIPPED',
      skipReason: 'paused',
      scheduledFor: '2026-03-29T11:00:00.000Z',
    });
    await w.call('POST', `${w.ws}/schedules/hourly/enable`, {});
    expect((await w.tick('2026-03-29T12:00:00Z')).schedules!.triggered).toBe(1);
    // Re-enabling did not replay the paused hour.
    expect((await ticks('hourly')).map((t) => t.status)).toEqual([
      'TRIGGERED',
      'SKIPPED',
      'TRIGGERED',
      'TRIGGERED',
      'TRIGGERED',
    ]);
    expect(
      (await w.call('GET', `${w.ws}/schedules/hourly/ticks/${(await ticks('hourly'))[1]!.tickId}`)).body,
    ).toMatchObject({ status: 'SKIPPED' });
    expect((await w.call('GET', `${w.ws}/schedules/nope`)).status).toBe(404);
    expect((await w.call('GET', `${w.ws}/schedules/nope/ticks`)).status).toBe(404);
  });

  it('starts one run for a sensor message delivered three times, and takes messages from the Pub/Sub topic', async () => {
    const w = await workspace({
      assets: [{ key: 'raw.orders', partitioning: daily }],
      sensors: [
        {
          id: 'orders_arrivals',
          kind: 'push',
          assetSelection: ['raw.orders'],
          partitionKeyAttribute: 'date',
        },
      ],
    });
    const push = (messageId: string) =>
      fetch(`${host.url}/internal/sensors/pubsub?token=push-secret`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          message: {
            messageId,
            data: Buffer.from('{"file":"orders-2026-11-20.csv"}').toString('base64'),
            attributes: {
              tenant: w.scope.tenant,
              workspace: w.scope.workspace,
              sensor: 'orders_arrivals',
              date: '2026-11-20',
            },
          },
        }),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
    const deliveries = await Promise.all([push('m-1'), push('m-1')]);
    deliveries.push(await push('m-1'));
    const runIds = new Set(
      deliveries.flatMap((d) => (d.runRequests as Array<{ runId: string }>).map((r) => r.runId)),
    );
    expect(runIds.size).toBe(1);
    await w.settle();
    const evals = await w.call<{ evals: Array<Record<string, unknown>> }>(
      'GET',
      `${w.ws}/sensors/orders_arrivals/evals`,
    );
    expect((await w.call('GET', `${w.ws}/sensors/nope/evals`)).status).toBe(404);
    expect(evals.body.evals).toHaveLength(1);
    expect(evals.body.evals[0]).toMatchObject({
      evalId: 'orders_arrivals:msg:m-1',
      status: 'TRIGGERED',
      runRequestsCount: 1,
    });
    expect((await w.call('GET', `${w.ws}/sensors/orders_arrivals`)).body).toMatchObject({
      cursor: 'm-1',
      stateVersion: 1,
      status: 'ACTIVE',
    });
    const run = await w.call<{ tasks: Array<{ taskKey: string }> }>('GET', `${w.ws}/runs/${[...runIds][0]}`);
    expect(run.body.tasks.map((t) => t.taskKey)).toEqual(['raw.orders']);
    const runs = await w.call<{ runs: unknown[] }>('GET', `${w.ws}/runs`);
    expect(runs.body.runs).toHaveLength(1);

    // The manual evaluate API uses the same evaluator; through the real topic, a published message arrives.
    const manual = await w.call('POST', `${w.ws}/sensors/orders_arrivals/evaluate`, {
      messageId: 'manual-1',
      attributes: { date: '2026-11-21' },
    });
    expect(manual.body).toMatchObject({ status: 'TRIGGERED', eventsWritten: 1 });
    const topic = new PubSub({ projectId: process.env.GOOGLE_CLOUD_PROJECT }).topic(SENSOR_EVENTS_TOPIC);
    const published = await topic.publishMessage({
      json: { file: 'orders-2026-11-22.csv' },
      attributes: {
        tenant: w.scope.tenant,
        workspace: w.scope.workspace,
        sensor: 'orders_arrivals',
        date: '2026-11-22',
      },
    });
    const viaTopic = await w.until(
      async () =>
        (await w.call<{ evals: Array<{ evalId: string }> }>('GET', `${w.ws}/sensors/orders_arrivals/evals`))
          .body.evals,
      (list) => list.some((e) => e.evalId === `orders_arrivals:msg:${published}`),
      20_000,
    );
    expect(viaTopic.map((e) => e.evalId)).toContain(`orders_arrivals:msg:${published}`);
  });

  it('polls a sensor’s evaluator on its interval with an internal token and advances its durable cursor', async () => {
    const calls: Array<{ cursor?: string; authorization?: string }> = [];
    const evaluator = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const { cursor } = JSON.parse(body) as { cursor?: string };
        calls.push({ cursor, authorization: req.headers.authorization });
        const next = String(Number(cursor ?? 0) + 1);
        const runRequests =
          Number(cursor ?? 0) % 2 === 0 ? [{ runKey: `files:${next}`, assetSelection: ['ops.files'] }] : [];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ runRequests, cursorAfter: next }));
      });
    });
    await new Promise<void>((resolve) => evaluator.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(evaluator.address() as AddressInfo).port}/evaluate`;
      const w = await workspace({
        assets: [{ key: 'ops.files' }],
        sensors: [
          {
            id: 'files',
            kind: 'poll',
            evaluatorUrl: url,
            minIntervalSeconds: 60,
            assetSelection: ['ops.files'],
          },
        ],
      });
      expect((await w.tick('2026-11-23T10:00:00Z')).sensors).toEqual({ evaluated: 1 });
      expect((await w.tick('2026-11-23T10:00:30Z')).sensors).toEqual({ evaluated: 0 });
      expect((await w.tick('2026-11-23T10:01:01Z')).sensors).toEqual({ evaluated: 1 });
      expect(calls.map((c) => c.cursor)).toEqual([undefined, '1']);
      expect(calls[0]!.authorization).toMatch(/^Bearer \S+/);
      expect((await w.call('GET', `${w.ws}/sensors/files`)).body).toMatchObject({
        cursor: '2',
        stateVersion: 2,
      });
      const evals = (await w.call<{ evals: Array<{ status: string }> }>('GET', `${w.ws}/sensors/files/evals`))
        .body.evals;
      expect(evals.map((e) => e.status)).toEqual(['NO_NEW_DATA', 'TRIGGERED']);
      expect((await w.call<{ runs: unknown[] }>('GET', `${w.ws}/runs`)).body.runs).toHaveLength(1);
    } finally {
      evaluator.close();
    }
  });

  it('converges after a crash between starting a run and recording the tick, chunk or evaluation that started it', async () => {
    const w = await workspace({
      assets: [{ key: 'raw.orders', partitioning: daily }],
      sensors: [
        { id: 'arrivals', kind: 'push', assetSelection: ['raw.orders'], partitionKeyAttribute: 'date' },
      ],
    });
    const internal = await bearer({ ...w.scope, internal: true });
    const arm = (points: Record<string, number>) => w.call('POST', '/internal/failpoints', points, internal);
    await w.call('PUT', `${w.ws}/schedules/nightly`, {
      cronExpression: '0 2 * * *',
      timezone: 'UTC',
      catchupWindowMinutes: 60,
      assetSelection: ['raw.orders'],
      partitionFromTick: 'date',
    });
    const backfill = await w.call<{ backfillId: string }>('POST', `${w.ws}/backfills`, {
      assetSelection: ['raw.orders'],
      partitionSelector: { type: 'explicit', partitions: ['2026-11-01'] },
      chunkSize: 1,
      clientRequestId: 'crash',
    });
    await arm({ 'schedule.after_trigger': 1, 'backfill.after_trigger': 1 });
    const tick = (now: string) => w.call('POST', '/internal/automation/tick', { now }, internal);
    expect((await tick('2026-11-20T02:30:00Z')).body).toMatchObject({ code: 'injected_fault' });
    expect((await tick('2026-11-20T02:30:00Z')).body).toMatchObject({ code: 'injected_fault' });
    expect((await tick('2026-11-20T02:30:00Z')).status).toBe(200);
    await w.settle();
    const ticks = (await w.call<{ ticks: Tick[] }>('GET', `${w.ws}/schedules/nightly/ticks`)).body.ticks;
    const chunks = (
      await w.call<{ chunks: Array<{ runId: string }> }>(
        'GET',
        `${w.ws}/backfills/${backfill.body.backfillId}/chunks`,
      )
    ).body.chunks;
    expect(ticks).toHaveLength(1);
    expect(chunks).toHaveLength(1);

    await arm({ 'sensor.after_trigger': 1 });
    const evaluate = () =>
      w.call('POST', `${w.ws}/sensors/arrivals/evaluate`, {
        messageId: 'm-9',
        attributes: { date: '2026-11-19' },
      });
    expect((await evaluate()).status).toBe(500);
    const evaluated = await evaluate();
    expect(evaluated.body).toMatchObject({ status: 'TRIGGERED', eventsWritten: 1 });
    const runs = (await w.call<{ runs: Array<{ runId: string }> }>('GET', `${w.ws}/runs?limit=200`)).body
      .runs;
    // One run each for the tick, the chunk and the message, and they are the runs their records name.
    expect(runs.map((r) => r.runId).sort()).toEqual(
      [
        ticks[0]!.runId,
        chunks[0]!.runId,
        (evaluated.body.runRequests as Array<{ runId: string }>)[0]!.runId,
      ].sort(),
    );
  });

  it('runs a 30-day backfill with at most 3 runs at a time, through pause and resume, to completion, and retries only the failed days', async () => {
    const failing = ['2026-10-07', '2026-10-19'];
    const asset = (failPartitions: string[]) => ({
      key: 'raw.events',
      partitioning: daily,
      payload: { failPartitions, failWith: { category: 'DATA_QUALITY', message: 'bad input file' } },
    });
    const w = await workspace({ assets: [asset(failing)] });
    const request = {
      assetSelection: ['raw.events'],
      partitionSelector: { type: 'range', start: '2026-10-01', end: '2026-10-30' },
      chunkSize: 1,
      maxConcurrentRuns: 3,
    };
    const created = await w.call<{ backfillId: string }>('POST', `${w.ws}/backfills`, request, {
      ...(await bearer({ ...w.scope, roles: ['operator'] })),
      'Idempotency-Key': 'october',
    });
    expect(created.status).toBe(202);
    const id = created.body.backfillId;
    const replay = await w.call('POST', `${w.ws}/backfills`, { ...request, clientRequestId: 'october' });
    expect(replay).toMatchObject({ status: 200, body: { backfillId: id } });
    const mismatch = await w.call('POST', `${w.ws}/backfills`, {
      ...request,
      chunkSize: 2,
      clientRequestId: 'october',
    });
    expect(mismatch).toMatchObject({
      status: 409,
      body: { message: 'idempotency key already used for a different backfill' },
    });
    expect(
      (
        await w.call('POST', `${w.ws}/backfills`, {
          ...request,
          partitionSelector: { type: 'range', start: '2026-10-30', end: '2026-10-01' },
          clientRequestId: 'x',
        })
      ).body,
    ).toMatchObject({
      message: 'partition selector start must be less than or equal to end',
    });

    interface Backfill {
      state: string;
      stateVersion: number;
      chunkCounts: { total: number; pending: number; running: number; succeeded: number; failed: number };
    }
    interface Chunk {
      chunkIndex: number;
      state: string;
      partitionKeys: string[];
      runId?: string;
    }
    const read = async () => (await w.call<Backfill>('GET', `${w.ws}/backfills/${id}`)).body;
    const chunks = async (backfillId = id) =>
      (await w.call<{ chunks: Chunk[] }>('GET', `${w.ws}/backfills/${backfillId}/chunks?limit=200`)).body
        .chunks;
    let maxActive = 0;
    const plannedPerTick: number[] = [];
    // Planning happens only in ticks and runs only finish between them, so right after a tick is when
    // the most chunks are active.
    const step = async (backfillId = id) => {
      plannedPerTick.push((await w.tick()).backfills!.planned!);
      const list = await chunks(backfillId);
      const active = list.filter((c) => c.state === 'PLANNED' || c.state === 'RUNNING').length;
      maxActive = Math.max(maxActive, active);
      return list;
    };

    // Run until ten days are done, then pause: planning stops while the active runs finish.
    await w.until(
      step,
      (list) => list.filter((c) => TERMINAL.includes(c.state) || c.state === 'SUCCEEDED').length >= 10,
      90_000,
    );
    const paused = await w.call<Backfill>('POST', `${w.ws}/backfills/${id}/pause`, {});
    expect(paused.body.state).toBe('PAUSED');
    const plannedAtPause = (await chunks()).length;
    for (let i = 0; i < 5; i++) await step();
    expect((await chunks()).length).toBe(plannedAtPause);
    expect((await w.call('POST', `${w.ws}/backfills/${id}/pause`, {})).status).toBe(409);
    expect((await w.call<Backfill>('POST', `${w.ws}/backfills/${id}/resume`, {})).body.state).toBe('RUNNING');

    const done = await w.until(
      async () => (await step(), read()),
      (b) => b.state !== 'RUNNING',
      120_000,
    );
    expect(done.state).toBe('FAILED');
    expect(done.chunkCounts).toEqual({ total: 30, pending: 0, running: 0, succeeded: 28, failed: 2 });
    expect(maxActive).toBeLessThanOrEqual(3);
    expect(plannedPerTick[0]).toBe(3);
    const failedChunks = (await chunks()).filter((c) => c.state === 'FAILED');
    expect(failedChunks.map((c) => c.partitionKeys)).toEqual(failing.map((d) => [`date=${d}`]));

    // Fix the input, then retry only the failed days.
    await w.call('POST', `${w.ws}/manifests`, {
      codeVersionId: 'v2',
      workerUrl: `${host.url}/worker`,
      assets: [asset([])],
    });
    const retry = await w.call<{ backfillId: string }>('POST', `${w.ws}/backfills/${id}/retry-failed`, {
      retryRequestId: 'r1',
    });
    expect(retry.status).toBe(202);
    const child = retry.body.backfillId;
    const childDone = await w.until(
      async () => (
        await step(child),
        (await w.call<Backfill & { parentBackfillId: string }>('GET', `${w.ws}/backfills/${child}`)).body
      ),
      (b) => b.state !== 'RUNNING',
      60_000,
    );
    expect(childDone).toMatchObject({
      state: 'SUCCEEDED',
      parentBackfillId: id,
      chunkCounts: { total: 2, succeeded: 2 },
    });
    expect((await chunks(child)).flatMap((c) => c.partitionKeys)).toEqual(failing.map((d) => `date=${d}`));
    expect(
      (await w.call('POST', `${w.ws}/backfills/${child}/retry-failed`, { retryRequestId: 'r2' })).status,
    ).toBe(409);
  });
});
