import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Envelope {
  taskId: string;
  taskKey: string;
  runId: string;
  attempt: number;
  attemptId: string;
  callbackBaseUrl: string;
  taskToken: string;
}

/** A worker that succeeds at once, and the instants it saw, in performance.now() ms. */
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

/**
 * The benchmarks' worker: on each dispatch it calls back `started` then `completed` (SUCCEEDED), as a
 * real worker would, sending a callback again after a refusal other than 409/410, so what is measured
 * is the orchestrator.
 */
export async function startInstantWorker(): Promise<InstantWorker> {
  const dispatchedAt = new Map<string, number>();
  const completedAt = new Map<string, number>();
  const retriedCallbacks: string[] = [];
  let duplicateDeliveries = 0;
  const callback = async (envelope: Envelope, kind: string, body: object) => {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const response = await fetch(`${envelope.callbackBaseUrl}/api/v1/tasks/${envelope.taskId}/${kind}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${envelope.taskToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ attempt: envelope.attempt, attemptId: envelope.attemptId, ...body }),
      });
      const text = await response.text();
      if (response.ok || response.status === 409 || response.status === 410) return;
      retriedCallbacks.push(`${kind} ${envelope.taskKey}: ${response.status} ${text.slice(0, 80)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const envelope = JSON.parse(Buffer.concat(chunks).toString()) as Envelope;
      const key = `${envelope.runId}/${envelope.taskKey}`;
      if (dispatchedAt.has(key)) duplicateDeliveries += 1;
      else dispatchedAt.set(key, performance.now());
      await callback(envelope, 'started', { workerId: 'bench' });
      await callback(envelope, 'completed', {
        workerId: 'bench',
        outcome: 'SUCCEEDED',
        output: { rowCount: 1 },
      });
      if (!completedAt.has(key)) completedAt.set(key, performance.now());
      res.writeHead(200).end('{}');
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const worker: InstantWorker = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    dispatchedAt,
    completedAt,
    get duplicateDeliveries() {
      return duplicateDeliveries;
    },
    retriedCallbacks,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return worker;
}
