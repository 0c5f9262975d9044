import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { benchHttpClient } from './httpClient.ts';

interface Envelope {
  taskId: string;
  taskKey: string;
  runId: string;
  attempt: number;
  attemptId: string;
  callbackBaseUrl: string;
  taskToken: string;
}

/** What the worker saw, as it happened; `at` is an absolute time in ms (timeOrigin + now). */
export type WorkerEvent =
  | { kind: 'dispatched' | 'duplicate' | 'completed'; key: string; at: number }
  | { kind: 'retried'; detail: string };

/** A worker that succeeds at once, and the instants it saw, in this process's performance.now() ms. */
export interface InstantWorker {
  url: string;
  /** `${runId}/${taskKey}` → when the dispatch reached the worker (first delivery). */
  dispatchedAt: Map<string, number>;
  /** `${runId}/${taskKey}` → when the orchestrator answered the `completed` callback. */
  completedAt: Map<string, number>;
  /** Deliveries of a task that had already been delivered (Cloud Tasks is at-least-once). */
  duplicateDeliveries: number;
  /** Callbacks answered with something other than 2xx/409/410, then sent again. */
  retriedCallbacks: string[];
  close(): Promise<void>;
}

const absoluteNow = () => performance.timeOrigin + performance.now();

/**
 * Serves the benchmarks' worker: on each dispatch it calls back `started` then `completed`
 * (SUCCEEDED), as a real worker would, sending a callback again after a refusal other than 409/410,
 * so what is measured is the orchestrator. Reports what it sees through `report`.
 */
export async function serveInstantWorker(report: (event: WorkerEvent) => void): Promise<Server> {
  const seen = new Set<string>();
  const http = benchHttpClient();
  const post = (url: string, token: string, body: string) =>
    http.send('POST', url, { Authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body);
  const callback = async (envelope: Envelope, kind: string, body: object) => {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      try {
        const response = await post(
          `${envelope.callbackBaseUrl}/api/v1/tasks/${envelope.taskId}/${kind}`,
          envelope.taskToken,
          JSON.stringify({ attempt: envelope.attempt, attemptId: envelope.attemptId, ...body }),
        );
        if (
          (response.status >= 200 && response.status < 300) ||
          response.status === 409 ||
          response.status === 410
        )
          return;
        report({
          kind: 'retried',
          detail: `${kind} ${envelope.taskKey}: ${response.status} ${response.text.slice(0, 80)}`,
        });
      } catch (error) {
        // A worker keeps its result until the orchestrator takes it: a failed connection is tried again.
        report({ kind: 'retried', detail: `${kind} ${envelope.taskKey}: ${String(error).slice(0, 80)}` });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const envelope = JSON.parse(Buffer.concat(chunks).toString()) as Envelope;
      const key = `${envelope.runId}/${envelope.taskKey}`;
      report({ kind: seen.has(key) ? 'duplicate' : 'dispatched', key, at: absoluteNow() });
      seen.add(key);
      await callback(envelope, 'started', { workerId: 'bench' });
      await callback(envelope, 'completed', {
        workerId: 'bench',
        outcome: 'SUCCEEDED',
        output: { rowCount: 1 },
      });
      report({ kind: 'completed', key, at: absoluteNow() });
      res.writeHead(200).end('{}');
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/**
 * The benchmarks' worker, by default in a process of its own (as workers are: it then takes no CPU
 * from the function host it measures); `{ inProcess: true }` serves it from this process.
 */
export async function startInstantWorker(options: { inProcess?: boolean } = {}): Promise<InstantWorker> {
  const dispatchedAt = new Map<string, number>();
  const completedAt = new Map<string, number>();
  const retriedCallbacks: string[] = [];
  let duplicateDeliveries = 0;
  const record = (event: WorkerEvent) => {
    if (event.kind === 'retried') retriedCallbacks.push(event.detail);
    else if (event.kind === 'duplicate') duplicateDeliveries += 1;
    else {
      const at = event.at - performance.timeOrigin;
      const map = event.kind === 'dispatched' ? dispatchedAt : completedAt;
      if (!map.has(event.key)) map.set(event.key, at);
    }
  };
  const worker = (url: string, close: () => Promise<void>): InstantWorker => ({
    url,
    dispatchedAt,
    completedAt,
    get duplicateDeliveries() {
      return duplicateDeliveries;
    },
    retriedCallbacks,
    close,
  });
  if (options.inProcess) {
    const server = await serveInstantWorker(record);
    return worker(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
  }
  const child = fork(fileURLToPath(new URL('./instantWorkerProcess.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bench worker exited with ${code}`)));
    child.on('message', (message: { port?: number } & Partial<WorkerEvent>) => {
      if (message.port) resolve(message.port);
      else record(message as WorkerEvent);
    });
  });
  return worker(
    `http://127.0.0.1:${port}/`,
    () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  );
}
