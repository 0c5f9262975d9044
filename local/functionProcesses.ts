/**
 * The local stack's functions each in a process of their own, as each is its own service (and its own
 * instances) in GCP: a request to one function never waits for another's CPU, and the machine's second
 * core is used. The host's router forwards each request over loopback HTTP to the process of the
 * function the gateway document names (`functionProcess.ts` is a process's entry).
 *
 * Two things of the local stack contract span every process, so the router carries them:
 * - failpoints: one count per name for the whole stack. Arming (`POST /internal/failpoints`, served by
 *   `api`) reaches every process before the answer does; a fault one process injects is counted off in
 *   all the others.
 * - `GET /metrics` (served by `api`, which checks the caller): every process's registry, aggregated.
 */
import { profiling } from './cpuProfiling.ts';
import { type ChildProcess, fork } from 'node:child_process';
import {
  Agent,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from 'node:http';
import { join } from 'node:path';
import { AggregatorRegistry } from 'prom-client';
import { ArcoError } from '../shared/core/arcoError.ts';
import { dialectForPath, errorBody } from '../shared/http/errorBody.ts';
import type { HostRoute } from './functionHost.ts';

/** One function process: the modules it imports and the targets they register. */
export interface FunctionProcessPlan {
  name: string;
  modules: string[];
  targets: string[];
}

/** The request headers that tell a function process which of its targets serves the request. */
export const TARGET_HEADER = 'x-arco-function-target';
export const LOCAL_ONLY_HEADER = 'x-arco-local-only';

/** What the host and its function processes say to each other over the IPC channel. */
export type FunctionProcessMessage =
  | { type: 'listening'; port: number }
  | { type: 'failpoint_fired'; name: string }
  | { type: 'failpoints_armed'; id: number; armed: Record<string, number> }
  | { type: 'metrics_request'; id: number }
  | { type: 'reply'; id: number; metrics?: object[] };

const ENTRY = join(import.meta.dirname, 'functionProcess.ts');
const START_TIMEOUT_MS = 60_000;
/** Hop-by-hop headers (RFC 9110 §7.6.1): each side of the router sets its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

interface Running {
  plan: FunctionProcessPlan;
  child: ChildProcess;
  port: number;
}

export interface FunctionProcesses {
  serve(route: HostRoute, req: IncomingMessage, res: ServerResponse): void;
  stop(): Promise<void>;
}

/** Starts one process per plan and resolves once each listens; a process that dies is started again. */
export async function startFunctionProcesses(plans: FunctionProcessPlan[]): Promise<FunctionProcesses> {
  const agent = new Agent({ keepAlive: true });
  const byTarget = new Map<string, Running>();
  const running = new Set<Running>();
  const replies = new Map<number, (message: FunctionProcessMessage) => void>();
  let nextId = 1;
  let stopping = false;

  const send = (to: Running, message: FunctionProcessMessage) => {
    if (to.child.connected) to.child.send(message);
  };
  /** Sends `make(id)` to every process (but `except`) and resolves with their replies. */
  const ask = (make: (id: number) => FunctionProcessMessage, except?: Running) =>
    Promise.all(
      [...running]
        .filter((to) => to !== except && to.child.connected)
        .map(
          (to) =>
            new Promise<FunctionProcessMessage>((resolve) => {
              const id = nextId++;
              // A process that exits without replying must not hold the answer up.
              const exited = () => replies.delete(id) && resolve({ type: 'reply', id });
              to.child.once('exit', exited);
              replies.set(id, (message) => {
                to.child.off('exit', exited);
                resolve(message);
              });
              send(to, make(id));
            }),
        ),
    );

  const launch = (plan: FunctionProcessPlan) =>
    new Promise<Running>((resolve, reject) => {
      const child = fork(ENTRY, [JSON.stringify(plan)], {
        execArgv: ['--import', 'tsx', ...profiling(plan.name)],
        // What GCP sets for each function's service (terraform names them `arco-{function}`): every log
        // line names the function that wrote it. Targets that share a process (rebuild with compaction)
        // share its name.
        env: { ...process.env, K_SERVICE: `arco-${plan.name}` },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const timer = setTimeout(
        () => reject(new Error(`function process ${plan.name} did not start`)),
        START_TIMEOUT_MS,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`function process ${plan.name} exited with ${code} while starting`));
      });
      child.on('message', (message: FunctionProcessMessage) => {
        if (message.type === 'listening') {
          clearTimeout(timer);
          const process: Running = { plan, child, port: message.port };
          running.add(process);
          for (const target of plan.targets) byTarget.set(target, process);
          child.removeAllListeners('exit');
          child.once('exit', (code, signal) => void restart(process, code, signal));
          resolve(process);
        } else if (message.type === 'failpoint_fired') {
          for (const other of running) if (other.child !== child) send(other, message);
        } else if (message.type === 'reply') {
          replies.get(message.id)?.(message);
          replies.delete(message.id);
        }
      });
    });

  const restart = async (process: Running, code: number | null, signal: string | null) => {
    running.delete(process);
    if (stopping) return;
    console.error(`function process ${process.plan.name} exited (${signal ?? code}); starting it again`);
    await launch(process.plan).catch((error: Error) => console.error(error.message));
  };

  try {
    await Promise.all(plans.map(launch));
  } catch (error) {
    stopping = true;
    for (const { child } of running) child.kill('SIGTERM');
    throw error;
  }

  /** The answer `api` gave, completed with what spans the processes (see the file's comment). */
  const completeAnswer = async (route: HostRoute, method: string, from: Running, body: Buffer) => {
    const path = route.url.split('?')[0];
    if (method === 'POST' && path === '/internal/failpoints') {
      const { armed } = JSON.parse(body.toString('utf8')) as { armed: Record<string, number> };
      await ask((id) => ({ type: 'failpoints_armed', id, armed }), from);
      return body;
    }
    if (method === 'GET' && path === '/metrics') {
      const answers = await ask((id) => ({ type: 'metrics_request', id }));
      const metrics = answers.flatMap((answer) => (answer.type === 'reply' ? (answer.metrics ?? []) : []));
      return Buffer.from(await AggregatorRegistry.aggregate([metrics]).metrics());
    }
    return body;
  };
  const completes = (route: HostRoute, method: string) =>
    route.target === 'api' &&
    ((method === 'POST' && route.url.split('?')[0] === '/internal/failpoints') ||
      (method === 'GET' && route.url.split('?')[0] === '/metrics'));

  const unavailable = (res: ServerResponse, route: HostRoute) => {
    if (res.headersSent) return void res.destroy();
    const error = new ArcoError('unavailable', `function ${route.target} is not answering`);
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify(errorBody(dialectForPath(route.url), error, 'local-router')));
  };

  return {
    serve(route, req, res) {
      const to = byTarget.get(route.target) ?? byTarget.get('api')!;
      const method = req.method ?? 'GET';
      const upstream = request(
        {
          host: '127.0.0.1',
          port: to.port,
          method,
          path: route.url,
          agent,
          headers: {
            ...endToEnd(req.headers),
            [TARGET_HEADER]: route.target,
            ...(route.localOnly ? { [LOCAL_ONLY_HEADER]: '1' } : {}),
          },
        },
        (answer) => {
          const headers = endToEnd(answer.headers);
          if (!(completes(route, method) && answer.statusCode === 200)) {
            res.writeHead(answer.statusCode ?? 502, headers);
            answer.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            completeAnswer(route, method, to, Buffer.concat(chunks)).then(
              (body) => {
                delete headers['content-length'];
                res.writeHead(200, headers);
                res.end(body);
              },
              () => unavailable(res, route),
            );
          });
        },
      );
      upstream.on('error', () => unavailable(res, route));
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      req.pipe(upstream);
    },
    async stop() {
      stopping = true;
      agent.destroy();
      await Promise.all(
        [...running].map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
              child.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  return kept;
}
