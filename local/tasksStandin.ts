/**
 * A Cloud Tasks stand-in: a gRPC `google.cloud.tasks.v2.CloudTasks` server built from the protos that
 * @google-cloud/tasks ships, because no Cloud Tasks emulator exists offline. It implements the
 * documented semantics Arco relies on: queues, HTTP targets, scheduleTime, task-name dedup
 * (ALREADY_EXISTS while a task is pending and for a tombstone period after it is gone), retries with
 * exponential backoff on non-2xx answers, the X-CloudTasks-* request headers, and a queue's rate limits
 * (a token bucket of `maxBurstSize` refilled at `maxDispatchesPerSecond`, at most
 * `maxConcurrentDispatches` in flight; GCP's defaults when the queue names none), so a design that
 * needs more than a queue gives is throttled here as it would be on GCP.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { taskDelivery } from './taskDelivery.ts';

interface Timestamp {
  seconds: string | number;
  nanos?: number;
}

interface Duration {
  seconds: string | number;
  nanos?: number;
}

interface RetryConfig {
  maxAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  maxDoublings: number;
}

interface RateLimits {
  maxDispatchesPerSecond: number;
  /** Output only in the API: GCP picks it from the rate (see burstFor). */
  maxBurstSize: number;
  maxConcurrentDispatches: number;
}

interface QueueRecord {
  name: string;
  retry: RetryConfig;
  rateLimits: RateLimits;
  state: 'RUNNING' | 'PAUSED';
  /** The token bucket and what waits on it or on the concurrency limit, in arrival order. */
  tokens: number;
  refilledAtMs: number;
  inFlight: number;
  waiting: TaskRecord[];
  pumpTimer?: NodeJS.Timeout;
}

interface HttpRequestSpec {
  url: string;
  httpMethod?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  oidcToken?: { serviceAccountEmail?: string; audience?: string };
}

interface TaskRecord {
  name: string;
  queue: string;
  httpRequest: HttpRequestSpec;
  scheduleTimeMs: number;
  createTimeMs: number;
  dispatchDeadlineMs: number;
  dispatchCount: number;
  responseCount: number;
  lastResponseStatus?: number;
  timer?: NodeJS.Timeout;
}

export interface TasksStandinOptions {
  host?: string;
  port?: number;
  /** How long a task name stays reserved after the task completed or was deleted. */
  tombstoneMs?: number;
  /** Mints the bearer token Cloud Tasks would attach for an `oidcToken` target. */
  mintOidcToken?: (serviceAccountEmail: string, audience: string) => Promise<string>;
}

export interface TasksStandin {
  host: string;
  port: number;
  address: string;
  close(): Promise<void>;
}

const DEFAULT_RETRY: RetryConfig = {
  maxAttempts: 100,
  minBackoffMs: 100,
  maxBackoffMs: 3_600_000,
  maxDoublings: 16,
};
const DEFAULT_DISPATCH_DEADLINE_MS = 600_000;
/** GCP's queue defaults and limits (Cloud Tasks v2 `RateLimits`: at most 500/s and 5 000 concurrent). */
const DEFAULT_RATE_PER_SECOND = 500;
const DEFAULT_CONCURRENT_DISPATCHES = 1000;
const MAX_CONCURRENT_DISPATCHES = 5000;
/**
 * The burst GCP picks for a rate is not documented as a formula; a fifth of a second's worth, from 1 to
 * the documented maximum of 500, gives 100 at the default 500/s, what GCP shows for a default queue.
 */
const burstFor = (rate: number) => Math.min(500, Math.max(1, Math.round(rate / 5)));

const toMs = (value: Timestamp | Duration | null | undefined): number | undefined =>
  value ? Number(value.seconds ?? 0) * 1000 + Math.floor((value.nanos ?? 0) / 1e6) : undefined;

const toTimestamp = (ms: number): Timestamp => ({
  seconds: String(Math.floor(ms / 1000)),
  nanos: (ms % 1000) * 1e6,
});

const toDuration = (ms: number): Duration => ({
  seconds: String(Math.floor(ms / 1000)),
  nanos: (ms % 1000) * 1e6,
});

function statusError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), {
    code,
    details,
    metadata: new grpc.Metadata(),
  }) as grpc.ServiceError;
}

/** Both packages export only their entry point, so their root (where the protos are) is found upward. */
function packageRoot(entry: string): string {
  let dir = dirname(entry);
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package root above ${entry}`);
    dir = parent;
  }
  return dir;
}

function loadService() {
  const require = createRequire(import.meta.url);
  const tasksEntry = require.resolve('@google-cloud/tasks');
  const tasksRoot = join(packageRoot(tasksEntry), 'build', 'protos');
  const gaxRoot = join(packageRoot(createRequire(tasksEntry).resolve('google-gax')), 'build', 'protos');
  const definition = protoLoader.loadSync('google/cloud/tasks/v2/cloudtasks.proto', {
    includeDirs: [tasksRoot, gaxRoot],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: { cloud: { tasks: { v2: { CloudTasks: grpc.ServiceClientConstructor } } } };
  };
  return loaded.google.cloud.tasks.v2.CloudTasks.service;
}

export class TasksStandinState {
  readonly queues = new Map<string, QueueRecord>();
  readonly tasks = new Map<string, TaskRecord>();
  private readonly tombstones = new Map<string, number>();
  private closed = false;
  private readonly delivery = taskDelivery();

  constructor(private readonly options: TasksStandinOptions) {}

  createQueue(parent: string, queue: Record<string, unknown>): QueueRecord {
    const name = String(queue.name ?? '');
    if (!name.startsWith(`${parent}/queues/`))
      throw statusError(grpc.status.INVALID_ARGUMENT, `queue name must start with ${parent}/queues/`);
    if (this.queues.has(name)) throw statusError(grpc.status.ALREADY_EXISTS, `Queue ${name} already exists`);
    const retry = (queue.retryConfig ?? {}) as Record<string, unknown>;
    const limits = (queue.rateLimits ?? {}) as Record<string, unknown>;
    const rate = Number(limits.maxDispatchesPerSecond || DEFAULT_RATE_PER_SECOND);
    const concurrent = Number(limits.maxConcurrentDispatches || DEFAULT_CONCURRENT_DISPATCHES);
    if (!(rate > 0 && rate <= DEFAULT_RATE_PER_SECOND))
      throw statusError(grpc.status.INVALID_ARGUMENT, 'maxDispatchesPerSecond must be in (0, 500]');
    if (!(Number.isInteger(concurrent) && concurrent >= 1 && concurrent <= MAX_CONCURRENT_DISPATCHES))
      throw statusError(grpc.status.INVALID_ARGUMENT, 'maxConcurrentDispatches must be from 1 to 5000');
    const record: QueueRecord = {
      name,
      state: 'RUNNING',
      rateLimits: {
        maxDispatchesPerSecond: rate,
        maxBurstSize: burstFor(rate),
        maxConcurrentDispatches: concurrent,
      },
      tokens: burstFor(rate),
      refilledAtMs: Date.now(),
      inFlight: 0,
      waiting: [],
      retry: {
        maxAttempts: retry.maxAttempts === undefined ? DEFAULT_RETRY.maxAttempts : Number(retry.maxAttempts),
        minBackoffMs: toMs(retry.minBackoff as Duration) ?? DEFAULT_RETRY.minBackoffMs,
        maxBackoffMs: toMs(retry.maxBackoff as Duration) ?? DEFAULT_RETRY.maxBackoffMs,
        maxDoublings:
          retry.maxDoublings === undefined ? DEFAULT_RETRY.maxDoublings : Number(retry.maxDoublings),
      },
    };
    this.queues.set(name, record);
    return record;
  }

  requireQueue(name: string): QueueRecord {
    const queue = this.queues.get(name);
    if (!queue) throw statusError(grpc.status.NOT_FOUND, `Queue ${name} does not exist`);
    return queue;
  }

  deleteQueue(name: string) {
    const queue = this.requireQueue(name);
    clearTimeout(queue.pumpTimer);
    for (const task of this.tasksOf(name)) this.removeTask(task);
    this.queues.delete(name);
  }

  tasksOf(queue: string): TaskRecord[] {
    return [...this.tasks.values()]
      .filter((t) => t.queue === queue)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  createTask(parent: string, task: Record<string, unknown>): TaskRecord {
    this.requireQueue(parent);
    const now = Date.now();
    this.expireTombstones(now);
    const name = task.name ? String(task.name) : `${parent}/tasks/${randomBytes(12).toString('hex')}`;
    if (!name.startsWith(`${parent}/tasks/`) || name.length === `${parent}/tasks/`.length)
      throw statusError(grpc.status.INVALID_ARGUMENT, `task name must start with ${parent}/tasks/`);
    if (this.tasks.has(name) || this.tombstones.has(name))
      throw statusError(grpc.status.ALREADY_EXISTS, `Requested entity already exists: ${name}`);
    const http = task.httpRequest as Record<string, unknown> | undefined;
    if (!http?.url)
      throw statusError(grpc.status.INVALID_ARGUMENT, 'only HTTP targets with a url are supported');
    const record: TaskRecord = {
      name,
      queue: parent,
      httpRequest: {
        url: String(http.url),
        httpMethod: http.httpMethod ? String(http.httpMethod) : 'POST',
        headers: (http.headers ?? {}) as Record<string, string>,
        ...(http.body ? { body: Buffer.from(http.body as Uint8Array) } : {}),
        ...(http.oidcToken ? { oidcToken: http.oidcToken as HttpRequestSpec['oidcToken'] } : {}),
      },
      scheduleTimeMs: toMs(task.scheduleTime as Timestamp) ?? now,
      createTimeMs: now,
      dispatchDeadlineMs: toMs(task.dispatchDeadline as Duration) ?? DEFAULT_DISPATCH_DEADLINE_MS,
      dispatchCount: 0,
      responseCount: 0,
    };
    this.tasks.set(name, record);
    this.schedule(record, record.scheduleTimeMs - now);
    return record;
  }

  requireTask(name: string): TaskRecord {
    const task = this.tasks.get(name);
    if (!task) throw statusError(grpc.status.NOT_FOUND, `Task ${name} does not exist`);
    return task;
  }

  removeTask(task: TaskRecord) {
    clearTimeout(task.timer);
    this.tasks.delete(task.name);
    this.tombstones.set(task.name, Date.now() + (this.options.tombstoneMs ?? 3_600_000));
  }

  close() {
    this.closed = true;
    this.delivery.close();
    for (const task of this.tasks.values()) clearTimeout(task.timer);
    for (const queue of this.queues.values()) clearTimeout(queue.pumpTimer);
  }

  schedule(task: TaskRecord, delayMs: number) {
    clearTimeout(task.timer);
    task.scheduleTimeMs = Date.now() + Math.max(0, delayMs);
    task.timer = setTimeout(() => this.admit(task), Math.max(0, delayMs));
  }

  /** A task whose time has come waits for its queue's rate and concurrency limits, in arrival order. */
  private admit(task: TaskRecord) {
    const queue = this.queues.get(task.queue);
    if (!queue || this.closed) return;
    queue.waiting.push(task);
    this.pump(queue);
  }

  private pump(queue: QueueRecord) {
    const now = Date.now();
    const { maxDispatchesPerSecond: rate, maxBurstSize: burst, maxConcurrentDispatches } = queue.rateLimits;
    queue.tokens = Math.min(burst, queue.tokens + ((now - queue.refilledAtMs) / 1000) * rate);
    queue.refilledAtMs = now;
    while (queue.waiting.length && queue.inFlight < maxConcurrentDispatches && queue.tokens >= 1) {
      const task = queue.waiting.shift()!;
      if (this.tasks.get(task.name) !== task) continue; // deleted while it waited
      queue.tokens -= 1;
      queue.inFlight += 1;
      void this.dispatch(task).finally(() => {
        queue.inFlight -= 1;
        if (queue.waiting.length) this.pump(queue);
      });
    }
    // Out of tokens: come back when the next one is in the bucket (a finished dispatch also pumps).
    if (queue.waiting.length && queue.tokens < 1 && !queue.pumpTimer && !this.closed)
      queue.pumpTimer = setTimeout(
        () => {
          queue.pumpTimer = undefined;
          this.pump(queue);
        },
        Math.ceil(((1 - queue.tokens) / rate) * 1000),
      );
  }

  async dispatch(task: TaskRecord) {
    if (this.closed || this.tasks.get(task.name) !== task) return;
    const queue = this.queues.get(task.queue);
    if (!queue) return;
    const retryCount = task.dispatchCount;
    task.dispatchCount += 1;
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      ...task.httpRequest.headers,
      'X-CloudTasks-QueueName': queue.name.split('/').at(-1)!,
      'X-CloudTasks-TaskName': task.name.split('/').at(-1)!,
      'X-CloudTasks-TaskRetryCount': String(retryCount),
      'X-CloudTasks-TaskExecutionCount': String(task.responseCount),
      'X-CloudTasks-TaskETA': (task.scheduleTimeMs / 1000).toFixed(6),
      ...(task.lastResponseStatus
        ? { 'X-CloudTasks-TaskPreviousResponse': String(task.lastResponseStatus) }
        : {}),
    };
    const oidc = task.httpRequest.oidcToken;
    if (oidc && this.options.mintOidcToken) {
      const audience = oidc.audience || task.httpRequest.url;
      headers.Authorization = `Bearer ${await this.options.mintOidcToken(oidc.serviceAccountEmail ?? '', audience)}`;
      if (this.closed) return;
    }
    const status = await this.delivery.deliver(
      task.httpRequest.url,
      task.httpRequest.httpMethod ?? 'POST',
      headers,
      task.httpRequest.body && task.httpRequest.httpMethod !== 'GET' ? task.httpRequest.body : undefined,
      task.dispatchDeadlineMs,
    );
    if (status) {
      task.responseCount += 1;
      task.lastResponseStatus = status;
    }
    // A delivery cut short by close() schedules no retry: a timer would outlive the stand-in.
    if (this.closed || this.tasks.get(task.name) !== task) return;
    if (status >= 200 && status < 300) {
      this.removeTask(task);
      return;
    }
    const { maxAttempts, minBackoffMs, maxBackoffMs, maxDoublings } = queue.retry;
    if (maxAttempts >= 0 && task.dispatchCount >= maxAttempts) {
      this.removeTask(task);
      return;
    }
    const backoff = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(retryCount, maxDoublings));
    this.schedule(task, backoff);
  }

  private expireTombstones(now: number) {
    for (const [name, until] of this.tombstones) if (until <= now) this.tombstones.delete(name);
  }
}

function queueResource(queue: QueueRecord) {
  return {
    name: queue.name,
    state: queue.state,
    rateLimits: queue.rateLimits,
    retryConfig: {
      maxAttempts: queue.retry.maxAttempts,
      minBackoff: toDuration(queue.retry.minBackoffMs),
      maxBackoff: toDuration(queue.retry.maxBackoffMs),
      maxDoublings: queue.retry.maxDoublings,
    },
  };
}

function taskResource(task: TaskRecord) {
  return {
    name: task.name,
    httpRequest: {
      url: task.httpRequest.url,
      httpMethod: task.httpRequest.httpMethod,
      headers: task.httpRequest.headers,
      ...(task.httpRequest.body ? { body: new Uint8Array(task.httpRequest.body) } : {}),
    },
    scheduleTime: toTimestamp(task.scheduleTimeMs),
    createTime: toTimestamp(task.createTimeMs),
    dispatchDeadline: toDuration(task.dispatchDeadlineMs),
    dispatchCount: task.dispatchCount,
    responseCount: task.responseCount,
    view: 'BASIC',
  };
}

function paginate<T>(items: T[], pageSize: number, pageToken: string) {
  const offset = pageToken ? Number(Buffer.from(pageToken, 'base64url').toString()) : 0;
  const size = pageSize > 0 ? pageSize : 1000;
  const page = items.slice(offset, offset + size);
  const next = offset + size < items.length ? Buffer.from(String(offset + size)).toString('base64url') : '';
  return { page, next };
}

type Handler<Req> = (request: Req) => unknown;

function unary<Req>(fn: Handler<Req>): grpc.handleUnaryCall<Req, unknown> {
  return (call, callback) => {
    try {
      callback(null, fn(call.request));
    } catch (error) {
      callback(error as grpc.ServiceError);
    }
  };
}

export async function startTasksStandin(options: TasksStandinOptions = {}): Promise<TasksStandin> {
  const state = new TasksStandinState(options);
  const server = new grpc.Server();
  type R = Record<string, unknown>;
  server.addService(loadService(), {
    createQueue: unary<R>((r) => queueResource(state.createQueue(String(r.parent), r.queue as R))),
    getQueue: unary<R>((r) => queueResource(state.requireQueue(String(r.name)))),
    listQueues: unary<R>((r) => {
      const all = [...state.queues.values()]
        .filter((q) => q.name.startsWith(`${String(r.parent)}/queues/`))
        .sort((a, b) => a.name.localeCompare(b.name));
      const { page, next } = paginate(all, Number(r.pageSize ?? 0), String(r.pageToken ?? ''));
      return { queues: page.map(queueResource), nextPageToken: next };
    }),
    deleteQueue: unary<R>((r) => {
      state.deleteQueue(String(r.name));
      return {};
    }),
    pauseQueue: unary<R>((r) => {
      const queue = state.requireQueue(String(r.name));
      queue.state = 'PAUSED';
      return queueResource(queue);
    }),
    resumeQueue: unary<R>((r) => {
      const queue = state.requireQueue(String(r.name));
      queue.state = 'RUNNING';
      return queueResource(queue);
    }),
    createTask: unary<R>((r) => taskResource(state.createTask(String(r.parent), r.task as R))),
    getTask: unary<R>((r) => taskResource(state.requireTask(String(r.name)))),
    listTasks: unary<R>((r) => {
      state.requireQueue(String(r.parent));
      const { page, next } = paginate(
        state.tasksOf(String(r.parent)),
        Number(r.pageSize ?? 0),
        String(r.pageToken ?? ''),
      );
      return { tasks: page.map(taskResource), nextPageToken: next };
    }),
    deleteTask: unary<R>((r) => {
      state.removeTask(state.requireTask(String(r.name)));
      return {};
    }),
    runTask: unary<R>((r) => {
      const task = state.requireTask(String(r.name));
      state.schedule(task, 0);
      return taskResource(task);
    }),
  });
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${host}:${options.port ?? 0}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    ),
  );
  return {
    host,
    port,
    address: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        state.close();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000).unref();
      }),
  };
}
