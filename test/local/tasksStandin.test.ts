import type { CloudTasksClient } from '@google-cloud/tasks';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskDelivery } from '../../local/taskDelivery.ts';
import { startTasksStandin, type TasksStandin } from '../../local/tasksStandin.ts';
import { cloudTasksClient } from '../../shared/adapters/cloudTasksQueue.ts';
import { startRecordingServer } from '../support/recordingServer.ts';

const code = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  }
};

describe('Cloud Tasks stand-in, driven by @google-cloud/tasks over gRPC', () => {
  let standin: TasksStandin;
  let client: CloudTasksClient;
  let target: Awaited<ReturnType<typeof startRecordingServer>>;
  const location = 'projects/p/locations/l';
  const queue = `${location}/queues/q`;
  const task = (name: string, extra: Record<string, unknown> = {}) => ({
    parent: queue,
    task: {
      name: `${queue}/tasks/${name}`,
      httpRequest: {
        url: `${target.url}/${name}`,
        httpMethod: 'POST' as const,
        body: Buffer.from(`{"t":"${name}"}`),
      },
      ...extra,
    },
  });

  beforeAll(async () => {
    standin = await startTasksStandin({ tombstoneMs: 1500 });
    client = await cloudTasksClient(standin.address);
    target = await startRecordingServer([500]);
    await client.createQueue({
      parent: location,
      queue: {
        name: queue,
        retryConfig: { maxAttempts: 5, minBackoff: { seconds: 0, nanos: 200e6 }, maxBackoff: { seconds: 1 } },
      },
    });
  });
  afterAll(async () => {
    await client.close();
    await standin.close();
    await target.close();
  });

  it('holds a queue to its rate and concurrency limits, and shows GCP’s defaults on a queue that names none', async () => {
    const [plain] = await client.getQueue({ name: queue });
    expect(plain.rateLimits).toMatchObject({
      maxDispatchesPerSecond: 500,
      maxBurstSize: 100,
      maxConcurrentDispatches: 1000,
    });
    // A target that holds each request 150 ms, counting how many it holds at once.
    let open = 0;
    let mostOpen = 0;
    const arrivals: number[] = [];
    const slow = createServer((_req, res) => {
      arrivals.push(Date.now());
      mostOpen = Math.max(mostOpen, ++open);
      setTimeout(() => {
        open -= 1;
        res.end('{}');
      }, 150);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/t`;
    const limited = `${location}/queues/limited`;
    const [created] = await client.createQueue({
      parent: location,
      queue: { name: limited, rateLimits: { maxDispatchesPerSecond: 20, maxConcurrentDispatches: 3 } },
    });
    expect(created.rateLimits).toMatchObject({
      maxDispatchesPerSecond: 20,
      maxBurstSize: 4,
      maxConcurrentDispatches: 3,
    });
    const started = Date.now();
    // Created at once, so that without the cap more than 3 would be in flight (the burst alone is 4).
    await Promise.all(
      Array.from({ length: 12 }, () =>
        client.createTask({
          parent: limited,
          task: { httpRequest: { url, httpMethod: 'POST' as const, body: Buffer.from('{}') } },
        }),
      ),
    );
    const deadline = Date.now() + 10_000;
    while (arrivals.length < 12 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    slow.closeAllConnections();
    await new Promise<void>((resolve) => slow.close(() => resolve()));
    expect(arrivals).toHaveLength(12);
    expect(mostOpen).toBeLessThanOrEqual(3);
    // 12 tasks with 3 at a time for 150 ms each take at least 3 rounds after the first.
    expect(arrivals.at(-1)! - started).toBeGreaterThanOrEqual(3 * 150 - 20);
    // The rate: 12 instant tasks at 10/s with a burst of 2 take at least (12 - 2) / 10 s.
    const paced = `${location}/queues/paced`;
    await client.createQueue({
      parent: location,
      queue: { name: paced, rateLimits: { maxDispatchesPerSecond: 10 } },
    });
    const instant = await startRecordingServer();
    const pacedStart = Date.now();
    for (let i = 0; i < 12; i += 1)
      await client.createTask({
        parent: paced,
        task: {
          httpRequest: { url: `${instant.url}/p`, httpMethod: 'POST' as const, body: Buffer.from('{}') },
        },
      });
    const paced12 = await instant.waitFor(12);
    await instant.close();
    expect(paced12.at(-1)!.at - pacedStart).toBeGreaterThanOrEqual(1000 - 30);
    expect(
      await code(
        client.createQueue({
          parent: location,
          queue: { name: `${location}/queues/x`, rateLimits: { maxDispatchesPerSecond: 501 } },
        }),
      ),
    ).toBe(3);
  });

  it('refuses a duplicate queue with ALREADY_EXISTS and an unknown queue with NOT_FOUND', async () => {
    expect(await code(client.createQueue({ parent: location, queue: { name: queue } }))).toBe(6);
    expect(await code(client.getQueue({ name: `${location}/queues/none` }))).toBe(5);
  });

  it('dispatches with the X-CloudTasks headers and retries a 500 with backoff', async () => {
    await client.createTask(task('retried'));
    const [first, second] = await target.waitFor(2);
    expect(first!.path).toBe('/retried');
    expect(first!.body).toBe('{"t":"retried"}');
    expect(first!.headers['x-cloudtasks-queuename']).toBe('q');
    expect(first!.headers['x-cloudtasks-taskname']).toBe('retried');
    expect(first!.headers['x-cloudtasks-taskretrycount']).toBe('0');
    expect(second!.headers['x-cloudtasks-taskretrycount']).toBe('1');
    expect(second!.headers['x-cloudtasks-taskexecutioncount']).toBe('1');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(150);
  });

  it('counts a delivery that misses its dispatch deadline, or finds nobody listening, as a failed attempt and retries it', async () => {
    const seen: number[] = [];
    const slow = createServer((req, res) => {
      seen.push(Date.now());
      // The first attempt answers after the deadline; the second at once.
      if (seen.length === 1) setTimeout(() => res.end('late'), 1500);
      else res.end('ok');
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const port = (slow.address() as AddressInfo).port;
    try {
      await client.createTask({
        parent: queue,
        task: {
          name: `${queue}/tasks/slow`,
          httpRequest: { url: `http://127.0.0.1:${port}/slow`, httpMethod: 'POST' as const },
          dispatchDeadline: { seconds: 0, nanos: 300e6 },
        },
      });
      for (let i = 0; i < 100 && seen.length < 2; i += 1) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toHaveLength(2);
      expect(seen[1]! - seen[0]!).toBeLessThan(1500);
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
    // Nobody listens on the port now: each attempt fails until maxAttempts (5), then the task goes.
    await client.createTask({
      parent: queue,
      task: {
        name: `${queue}/tasks/refused`,
        httpRequest: { url: `http://127.0.0.1:${port}/refused`, httpMethod: 'POST' as const },
      },
    });
    let gone = false;
    for (let i = 0; i < 250 && !gone; i += 1) {
      await new Promise((r) => setTimeout(r, 20));
      gone = (await code(client.getTask({ name: `${queue}/tasks/refused` }))) === 5;
    }
    expect(gone).toBe(true);
  });

  it('counts a delivery that cannot even be made (bad URL, scheme or header) as a failed attempt, never throws', async () => {
    const delivery = taskDelivery();
    try {
      expect(await delivery.deliver('not a url', 'POST', {}, undefined, 1000)).toBe(0);
      expect(await delivery.deliver('ftp://127.0.0.1/x', 'POST', {}, undefined, 1000)).toBe(0);
      expect(await delivery.deliver(`${target.url}/x`, 'POST', { 'x-bad': 'a\nb' }, undefined, 1000)).toBe(0);
      expect(await delivery.deliver(`${target.url}/ok`, 'POST', {}, Buffer.from('{}'), 1000)).toBeGreaterThan(
        0,
      );
    } finally {
      delivery.close();
    }
  });

  it('deduplicates names while pending and after completion, until the tombstone expires', async () => {
    await client.createTask(
      task('dedup', { scheduleTime: { seconds: Math.floor(Date.now() / 1000) + 3600 } }),
    );
    expect(await code(client.createTask(task('dedup')))).toBe(6);
    const [pending] = await client.listTasks({ parent: queue });
    expect(pending.map((t) => t.name)).toContain(`${queue}/tasks/dedup`);
    await client.deleteTask({ name: `${queue}/tasks/dedup` });
    expect(await code(client.createTask(task('dedup')))).toBe(6);
    await new Promise((r) => setTimeout(r, 1600));
    expect(await code(client.createTask(task('dedup')))).toBe(0);
  });

  it('honours scheduleTime', async () => {
    const at = Date.now() + 700;
    await client.createTask(
      task('later', { scheduleTime: { seconds: Math.floor(at / 1000), nanos: (at % 1000) * 1e6 } }),
    );
    const deadline = Date.now() + 10_000;
    while (!target.requests.some((r) => r.path === '/later') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const delivered = target.requests.find((r) => r.path === '/later')!;
    expect(delivered.at).toBeGreaterThanOrEqual(at - 20);
    const [completed] = await client.listTasks({ parent: queue });
    expect(completed.map((t) => t.name)).not.toContain(`${queue}/tasks/later`);
    expect(await code(client.createTask(task('later')))).toBe(6);
  });
});
