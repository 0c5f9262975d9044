import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionHost } from '../../local/functionHost.ts';
import { startHostOnEmulators } from '../../local/hostOnEmulators.ts';
import { type TriggerSource, TriggerError, triggerRun } from '../../shared/orchestration/run/triggerRun.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { hostClient } from '../support/hostClient.ts';
import {
  createTestBucket,
  TEST_SECRET,
  testDependencies,
  testPushSubscriptions,
  uniqueName,
} from '../support/testDependencies.ts';

type Path = 'manual' | 'schedule' | 'sensor' | 'backfill';
const PATHS: Path[] = ['manual', 'schedule', 'sensor', 'backfill'];
const DAY = '2026-11-20';
const OTHER_DAY = '2026-11-21';
/** The schedule ticks at noon of DAY, so its run is for DAY. */
const TICK_AT = new Date(`${DAY}T12:00:00Z`);

type Outcome = { runId: string } | { conflict: Record<string, unknown> };

/**
 * run_key parity (orchestration spec §4, §4.5; seed 001 §1): every trigger path reserves its run key
 * through the same Firestore reservation, so a path that meets a key another path reserved behaves
 * like a second manual trigger: the same payload resolves to the existing run (no second run), another
 * payload is a conflict with the 409's `details`, and nothing new starts.
 *
 * Schedule and backfill keys are fixed by the system (`sched:{id}:{epoch}`, `backfill:{id}:chunk:{i}`);
 * manual triggers and sensor evaluators choose theirs. Each cell uses the key of its forced path, and a
 * forced path that meets a key of another namespace, or its own tick or chunk again, presents it the way
 * its controller does when it re-evaluates after a crash: `triggerRun` with its own trigger source.
 */
describe('run_key parity matrix: (first path, second path) × (same payload, different payload)', () => {
  let host: FunctionHost;
  let deps: Dependencies;
  let evaluator: ReturnType<typeof createServer>;
  let evaluatorUrl: string;

  beforeAll(async () => {
    const bucket = await createTestBucket();
    host = await startHostOnEmulators({
      bucket,
      secret: TEST_SECRET,
      pushToken: 'push',
      pushSubscriptions: testPushSubscriptions(),
    });
    deps = await testDependencies({}, undefined, bucket);
    // The sensor's evaluator asks for the run key and day it is given in the message payload.
    evaluator = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const { message } = JSON.parse(body) as { message: { payload: { runKey: string; day: string } } };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            runRequests: [
              {
                runKey: message.payload.runKey,
                assetSelection: ['raw.orders'],
                partitionKey: `date=d:${message.payload.day}`,
              },
            ],
          }),
        );
      });
    });
    await new Promise<void>((resolve) => evaluator.listen(0, '127.0.0.1', resolve));
    evaluatorUrl = `http://127.0.0.1:${(evaluator.address() as AddressInfo).port}/evaluate`;
  });
  afterAll(async () => {
    await host?.close();
    evaluator?.close();
  });

  const cases = PATHS.flatMap((first) =>
    PATHS.flatMap((second) =>
      (['same', 'different'] as const).map((payload) => [first, second, payload] as const),
    ),
  );

  it.each(cases)('%s then %s with the %s payload', async (first, second, payload) => {
    const scope = { tenant: 'acme', workspace: uniqueName('parity') };
    const w = await hostClient(host, scope);
    await w.call('POST', `${w.ws}/manifests`, {
      codeVersionId: 'v1',
      workerUrl: `${host.url}/worker`,
      assets: [
        {
          key: 'raw.orders',
          partitioning: { dimensions: [{ name: 'date', kind: 'time', granularity: 'day' }] },
        },
      ],
      sensors: [{ id: 'arrivals', kind: 'push', assetSelection: ['raw.orders'], evaluatorUrl }],
    });
    // The forced paths' keys; a backfill exists before anyone presents its chunk key.
    const scheduleKey = `sched:nightly:${TICK_AT.getTime() / 1000}`;
    let backfillId = '';
    // Only a backfill that presents its own chunk key exists (another would plan a run of its own).
    if (first === 'backfill' || (second === 'backfill' && first !== 'schedule')) {
      const created = await w.call<{ backfillId: string }>('POST', `${w.ws}/backfills`, {
        assetSelection: ['raw.orders'],
        partitionSelector: {
          type: 'explicit',
          partitions: [first === 'backfill' || payload === 'same' ? DAY : OTHER_DAY],
        },
        chunkSize: 1,
        clientRequestId: 'parity',
      });
      backfillId = created.body.backfillId;
    }
    const backfillKey = `backfill:${backfillId}:chunk:0`;
    const key =
      first === 'schedule'
        ? scheduleKey
        : first === 'backfill'
          ? backfillKey
          : second === 'schedule'
            ? scheduleKey
            : second === 'backfill'
              ? backfillKey
              : `key-${scope.workspace}`;

    /** Presents `key` with the payload for `day` through `path`; `asController` re-presents a forced key. */
    const present = async (path: Path, day: string, asController: boolean): Promise<Outcome> => {
      if (path === 'manual') {
        const r = await w.call<{ runId: string; details: Record<string, unknown> }>('POST', `${w.ws}/runs`, {
          selection: ['raw.orders'],
          partitions: [{ key: 'date', value: day }],
          runKey: key,
        });
        return r.status === 409 ? { conflict: r.body.details } : { runId: r.body.runId };
      }
      if (path === 'sensor') {
        const r = await w.call<{ runRequests: Array<{ runId?: string; details?: Record<string, unknown> }> }>(
          'POST',
          `${w.ws}/sensors/arrivals/evaluate`,
          { messageId: uniqueName('m'), payload: { runKey: key, day } },
        );
        const request = r.body.runRequests[0]!;
        return request.details ? { conflict: request.details } : { runId: request.runId! };
      }
      if (asController) {
        const source: TriggerSource =
          path === 'schedule'
            ? { cron: { scheduleId: 'nightly', tickId: 'replayed' } }
            : { backfill: { backfillId, chunkId: `${backfillId}:0` } };
        try {
          return {
            runId: (
              await triggerRun(deps, scope, source, {
                selection: ['raw.orders'],
                partitions: [{ key: 'date', value: day }],
                runKey: key,
              })
            ).body.runId,
          };
        } catch (error) {
          if (error instanceof TriggerError && error.code === 'conflict') return { conflict: error.details! };
          throw error;
        }
      }
      if (path === 'schedule') {
        await w.call('PUT', `${w.ws}/schedules/nightly`, {
          cronExpression: '0 12 * * *',
          timezone: 'UTC',
          catchupWindowMinutes: 60,
          assetSelection: ['raw.orders'],
          partitionFromTick: 'date',
        });
        await w.tick(TICK_AT);
        const tick = (
          await w.call<{ ticks: Array<{ runId?: string; details?: Record<string, unknown> }> }>(
            'GET',
            `${w.ws}/schedules/nightly/ticks`,
          )
        ).body.ticks[0]!;
        return tick.details ? { conflict: tick.details } : { runId: tick.runId! };
      }
      await w.tick();
      const chunk = (
        await w.call<{ chunks: Array<{ runId?: string; details?: Record<string, unknown> }> }>(
          'GET',
          `${w.ws}/backfills/${backfillId}/chunks`,
        )
      ).body.chunks[0]!;
      return chunk.details ? { conflict: chunk.details } : { runId: chunk.runId! };
    };

    // A schedule's tick is for DAY and a backfill's chunk for the day it was created with; the free paths
    // (and a controller re-presenting a key) take whichever day makes the case.
    const flip = (day: string) => (day === DAY ? OTHER_DAY : DAY);
    const forcedElsewhere = (path: Path) =>
      (path === 'schedule' && !key.startsWith('sched:')) ||
      (path === 'backfill' && !key.startsWith('backfill:'));
    const secondAsController = first === second || forcedElsewhere(second);
    const backfillDay = first === 'backfill' || payload === 'same' ? DAY : OTHER_DAY;
    const firstDay =
      second === 'schedule' && !secondAsController && payload === 'different' ? OTHER_DAY : DAY;
    const secondDay =
      second === 'schedule' && !secondAsController
        ? DAY
        : second === 'backfill' && !secondAsController
          ? backfillDay
          : payload === 'same'
            ? firstDay
            : flip(firstDay);

    const one = await present(first, firstDay, forcedElsewhere(first));
    expect(one, 'the first path starts a run').toHaveProperty('runId');
    const two = await present(second, secondDay, secondAsController);
    if (payload === 'same') expect(two).toEqual(one);
    else
      expect(two).toEqual({
        conflict: expect.objectContaining({
          conflictType: 'RUN_KEY_FINGERPRINT_MISMATCH',
          runKey: key,
          existingRunId: (one as { runId: string }).runId,
          existingFingerprint: expect.any(String),
          requestedFingerprint: expect.any(String),
        }),
      });
    const runs = await w.call<{ runs: unknown[] }>('GET', `${w.ws}/runs?limit=200`);
    expect(runs.body.runs, 'never a second run').toHaveLength(1);
  });
});
