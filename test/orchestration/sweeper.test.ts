import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createGatewayApp } from '../../local/functionApps.ts';
import { bootstrapLocalResources } from '../../local/bootstrap.ts';
import type { TaskRequest } from '../../shared/adapters/taskQueue.ts';
import { DISPATCH_QUEUE, TASK_QUEUES, TIMER_QUEUE } from '../../shared/runtime/resources.ts';
import { compactorFor, ledgerFor, readerFor } from '../../shared/orchestration/orchestrationServices.ts';
import { shardOf } from '../../shared/orchestration/state/projectionTables.ts';
import { sweepStuckTasks } from '../../shared/orchestration/run/sweeper.ts';
import { waitUntilVisible } from '../../shared/orchestration/state/visibility.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { apiClient } from '../support/apiClient.ts';
import { workerAttempt } from '../support/eventFactory.ts';
import { bearer, testDependencies, uniqueName } from '../support/testDependencies.ts';

describe('the automation tick: stuck-task sweeper', () => {
  let deps: Dependencies;
  let api: ReturnType<typeof apiClient>;
  let internal: ReturnType<typeof apiClient>;
  const ws = uniqueName('ws');
  const scope = { tenant: 'acme', workspace: ws };
  beforeAll(async () => {
    deps = await testDependencies();
    await bootstrapLocalResources({
      project: process.env.GOOGLE_CLOUD_PROJECT!,
      location: deps.config.location,
      bucket: deps.config.bucket,
      hostUrl: 'http://127.0.0.1:1',
      topics: [],
      pushSubscriptions: [],
      queues: TASK_QUEUES,
    });
    const app = createGatewayApp(deps);
    api = apiClient(app, await bearer({ ...scope, roles: ['operator'] }));
    internal = apiClient(app, await bearer({ ...scope, internal: true }));
    await api.post(`/api/v1/workspaces/${ws}/manifests`, {
      codeVersionId: 'v1',
      assets: [{ key: 'raw.orders', heartbeatTimeoutSec: 30 }],
    });
  });

  /** `deps` with every Cloud Task it creates recorded in `enqueued`. */
  const countingEnqueues = () => {
    const enqueued: TaskRequest[] = [];
    const counting: Dependencies = {
      ...deps,
      tasks: {
        enqueue: (task) => (enqueued.push(task), deps.tasks.enqueue(task)),
        exists: (queue, name) => deps.tasks.exists(queue, name),
      },
    };
    return { enqueued, counting };
  };

  it('fails an attempt whose worker stopped heartbeating, once per tick time, then starts the retry', async () => {
    const { runId } = (
      await api.post<{ runId: string }>(`/api/v1/workspaces/${ws}/runs`, { selection: ['raw.orders'] })
    ).body;
    const facts = { runId, taskKey: 'raw.orders', attempt: 1, attemptId: 'att-1', workerId: 'w' };
    const { batchId } = await ledgerFor(deps, scope).append([
      {
        data: {
          type: 'dispatch_requested',
          ...facts,
          workerQueue: 'q',
          dispatchId: `dispatch:${runId}:raw.orders:1`,
        },
      },
      { data: { type: 'task_started', ...facts } },
    ]);
    await waitUntilVisible(deps, scope, batchId, Date.now(), 10_000);
    const read = async () =>
      (await api.get<{ tasks: Array<Record<string, unknown>> }>(`/api/v1/workspaces/${ws}/runs/${runId}`))
        .body.tasks[0]!;

    const early = await internal.post('/internal/automation/tick', {
      now: new Date(Date.now() + 20_000).toISOString(),
    });
    expect(early.body).toMatchObject({ sweeper: { heartbeatTimeouts: 0 } });
    expect(await read()).toMatchObject({ state: 'RUNNING' });

    // 61 s without a heartbeat (timeout 30 s + 30 s grace): the attempt fails as a retryable timeout.
    const late = new Date(Date.now() + 61_000).toISOString();
    const tick = async (now: string) => {
      const response = await internal.post<{ sweeper: Record<string, number> }>('/internal/automation/tick', {
        now,
      });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      // Publish what the tick appended, so the next tick decides on it (ticks are a minute apart in GCP).
      await compactorFor(deps, scope).drain();
      return response.body.sweeper;
    };
    expect(await tick(late)).toMatchObject({ heartbeatTimeouts: 1, redispatched: 0 });
    // The next tick sees RETRY_WAIT; `late` is past the 30 s retry deadline, so the retry starts (a lost
    // retry timer is repaired the same way). Ticking again at the same time changes nothing.
    expect(await tick(late)).toMatchObject({ heartbeatTimeouts: 0, redispatched: 1 });
    expect(await tick(late)).toMatchObject({ heartbeatTimeouts: 0, redispatched: 0 });
    expect(await read()).toMatchObject({
      state: 'QUEUED',
      attempt: 2,
      errorMessage: 'heartbeat_timeout_anti_entropy',
      failureClass: 'TIMEOUT',
      retryAttribution: {
        retries: 1,
        reason: 'heartbeat_timeout',
        previousAttempt: { attempt: 1, errorCategory: 'TIMEOUT' },
      },
    });
  });

  it('reads retry timers from their own shard: a tick with an already-requested timer enqueues nothing new', async () => {
    const scope2 = { tenant: 'acme', workspace: uniqueName('ws') };
    const ws2 = scope2.workspace;
    const api2 = apiClient(createGatewayApp(deps), await bearer({ ...scope2, roles: ['operator'] }));
    const retryPolicy = { maxAttempts: 3, initialBackoffSeconds: 600, maxBackoffSeconds: 600 };
    // Three tasks, so that at least one timer id almost surely hashes to another shard than the run id.
    const keys = ['raw.a', 'raw.b', 'raw.c'];
    await api2.post(`/api/v1/workspaces/${ws2}/manifests`, {
      codeVersionId: 'v1',
      assets: keys.map((key) => ({ key, retryPolicy })),
    });
    const { runId } = (
      await api2.post<{ runId: string }>(`/api/v1/workspaces/${ws2}/runs`, { selection: keys })
    ).body;
    const { batchId } = await ledgerFor(deps, scope2).append(
      keys.flatMap((taskKey) =>
        workerAttempt(runId, taskKey, {
          outcome: 'failed',
          errorMessage: 'ECONNRESET',
          error: { category: 'INFRASTRUCTURE', message: 'ECONNRESET', retryable: true },
        }),
      ),
    );
    await waitUntilVisible(deps, scope2, batchId, Date.now(), 10_000);
    // The publish that folded the failures requested one retry timer per task; fold those requests too.
    const timers = async () =>
      (await (await readerFor(deps, scope2).snapshot()).rows('timers')).filter((t) => t.runId === runId);
    for (let i = 0; i < 40 && (await timers()).length < keys.length; i++)
      await compactorFor(deps, scope2).drain();
    const requested = await timers();
    expect(requested).toHaveLength(keys.length);
    expect(requested.some((t) => shardOf('timers', String(t.timerId)) !== shardOf('timers', runId))).toBe(
      true,
    );

    const { enqueued, counting } = countingEnqueues();
    // A minute later: every retry is still 10 minutes away, so nothing is due and nothing is lost.
    const result = await sweepStuckTasks(counting, scope2, new Date(Date.now() + 60_000));
    expect(result).toMatchObject({ heartbeatTimeouts: 0, redispatched: 0 });
    expect(enqueued.filter((t) => t.queue === TIMER_QUEUE)).toEqual([]);
    await compactorFor(deps, scope2).drain();
    expect((await timers()).map((t) => t.timerId).sort()).toEqual(requested.map((t) => t.timerId).sort());
  });

  it('creates again under a repair name a dispatch that left the queue 10 minutes ago without its task starting', async () => {
    const scope3 = { tenant: 'acme', workspace: uniqueName('ws') };
    const ws3 = scope3.workspace;
    const api3 = apiClient(createGatewayApp(deps), await bearer({ ...scope3, roles: ['operator'] }));
    // A worker that fails every delivery (Cloud Tasks keeps retrying it), then takes them and never calls back.
    let accept = false;
    const worker = http.createServer((request, response) => {
      request.resume();
      response.writeHead(accept ? 204 : 503).end();
    });
    await new Promise<void>((resolve) => worker.listen(0, '127.0.0.1', resolve));
    try {
      await api3.post(`/api/v1/workspaces/${ws3}/manifests`, {
        codeVersionId: 'v1',
        workerUrl: `http://127.0.0.1:${(worker.address() as AddressInfo).port}/worker`,
        assets: [{ key: 'raw.stuck' }],
      });
      const { runId } = (
        await api3.post<{ runId: string }>(`/api/v1/workspaces/${ws3}/runs`, { selection: ['raw.stuck'] })
      ).body;
      const outbox = async () => {
        await compactorFor(deps, scope3).drain();
        return (await (await readerFor(deps, scope3).snapshot()).rowsOf('dispatch_outbox', runId))[0];
      };
      let row = await outbox();
      for (let i = 0; i < 40 && row?.status !== 'CREATED'; i++) row = await outbox();
      expect(row).toMatchObject({ status: 'CREATED', attempt: 1 });
      const first = String(row!.cloudTaskId);

      const { enqueued, counting } = countingEnqueues();
      const dispatches = () => enqueued.filter((t) => t.queue === DISPATCH_QUEUE);
      const sweep = (afterMs: number) => sweepStuckTasks(counting, scope3, new Date(Date.now() + afterMs));
      // Still in the queue, being retried: Cloud Tasks delivers it, however long that takes.
      expect(await sweep(11 * 60_000)).toMatchObject({ redispatched: 0 });
      accept = true;
      await vi.waitFor(async () => expect(await deps.tasks.exists(DISPATCH_QUEUE, first)).toBe(false), {
        timeout: 20_000,
        interval: 200,
      });
      expect(await sweep(9 * 60_000)).toMatchObject({ redispatched: 0 });
      expect(dispatches()).toEqual([]);

      // Delivered, never started, 10 minutes on: created again, once however many ticks overlap.
      const repairs = await Promise.all([sweep(11 * 60_000), sweep(11 * 60_000)]);
      expect(repairs.map((r) => r.redispatched)).toEqual([1, 1]);
      expect(new Set(dispatches().map((t) => t.name)).size).toBe(1);
      const [repair] = dispatches();
      expect(repair!.name).not.toBe(first);
      expect(repair!.body).toMatchObject({
        dispatchId: `dispatch:${runId}:raw.stuck:1`,
        attempt: 1,
        attemptId: row!.attemptId,
      });
      expect(await outbox()).toMatchObject({ status: 'CREATED', cloudTaskId: repair!.name });
      // The repair moved the row's version: the next one waits another 10 minutes, under a new name.
      await vi.waitFor(
        async () => expect(await deps.tasks.exists(DISPATCH_QUEUE, repair!.name!)).toBe(false),
        {
          timeout: 20_000,
          interval: 200,
        },
      );
      const delivered = async () => {
        const name = dispatches().at(-1)!.name!;
        await vi.waitFor(async () => expect(await deps.tasks.exists(DISPATCH_QUEUE, name)).toBe(false), {
          timeout: 20_000,
          interval: 200,
        });
      };
      await delivered();
      expect(await sweep(60_000)).toMatchObject({ redispatched: 0 });
      expect(await sweep(11 * 60_000)).toMatchObject({ redispatched: 1 });
      expect(new Set(dispatches().map((t) => t.name)).size).toBe(2);
      expect(await outbox()).toMatchObject({ cloudTaskId: dispatches().at(-1)!.name, repairs: 2 });
      await delivered();
      expect(await sweep(11 * 60_000)).toMatchObject({ redispatched: 1 });
      expect(await outbox()).toMatchObject({ repairs: 3 });
      // Three repairs that never started: the attempt fails, and the task's retry policy decides (a retry).
      await delivered();
      expect(await sweep(11 * 60_000)).toMatchObject({ redispatched: 0, undelivered: 1 });
      expect(new Set(dispatches().map((t) => t.name)).size).toBe(3);
      await compactorFor(deps, scope3).drain();
      const [task] = await (await readerFor(deps, scope3).snapshot()).rowsOf('tasks', runId);
      expect(task).toMatchObject({
        state: 'RETRY_WAIT',
        errorMessage: 'dispatch_undelivered_anti_entropy',
        pendingRetry: { reason: 'dispatch_undelivered' },
      });
    } finally {
      worker.close();
    }
  });

  it('reads the rows of the runs in progress several runs at a time', async () => {
    const scope3 = { tenant: 'acme', workspace: uniqueName('ws') };
    const api3 = apiClient(createGatewayApp(deps), await bearer({ ...scope3, roles: ['operator'] }));
    await api3.post(`/api/v1/workspaces/${scope3.workspace}/manifests`, {
      codeVersionId: 'v1',
      assets: [{ key: 'raw.orders' }],
    });
    const runIds: string[] = [];
    for (let i = 0; i < 6; i++)
      runIds.push(
        (
          await api3.post<{ runId: string }>(`/api/v1/workspaces/${scope3.workspace}/runs`, {
            selection: ['raw.orders'],
          })
        ).body.runId,
      );
    const visible = async () => (await (await readerFor(deps, scope3).snapshot()).openRows('runs')).length;
    await expect.poll(visible, { timeout: 10_000 }).toBe(runIds.length);

    // Each read of a task slice is held a little, so reads of several runs overlap only if they are
    // made together.
    let inFlight = 0;
    let most = 0;
    const taskSliceReads: string[] = [];
    const get = deps.objects.get.bind(deps.objects);
    const slow: Dependencies = {
      ...deps,
      objects: Object.assign(Object.create(deps.objects) as Dependencies['objects'], {
        get: async (key: string, ...rest: unknown[]) => {
          if (!key.includes('/shards/tasks/')) return get(key, ...(rest as []));
          taskSliceReads.push(key);
          inFlight += 1;
          most = Math.max(most, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 50));
          inFlight -= 1;
          return get(key, ...(rest as []));
        },
      }),
    };
    const result = await sweepStuckTasks(slow, scope3, new Date());
    expect(result).toMatchObject({ heartbeatTimeouts: 0, undelivered: 0 });
    const slices = new Set(taskSliceReads);
    // Six one-task runs lie in several task slices (a day's eight shards × their slices).
    expect(slices.size).toBeGreaterThan(1);
    // Every slice was in flight at once (runs read one after another read them one or two at a time).
    expect(most).toBe(slices.size);
  });

  it('is for the internal identity of a workspace only', async () => {
    expect((await api.post('/internal/automation/tick', {})).status).toBe(403);
    expect(
      (
        await apiClient(createGatewayApp(deps), await bearer({ internal: true })).post(
          '/internal/automation/tick',
          {},
        )
      ).status,
    ).toBe(400);
  });
});
