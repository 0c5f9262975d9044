/**
 * Hosts every Cloud Function of `functions/` through the Functions Framework's own request handling
 * (body parsing, CloudEvents), and routes each request as the deployed API Gateway does: by the gateway
 * document `functions/openapi.json` (path and method → function). So the local stack runs the very
 * routing table terraform deploys. A path the document does not know reaches `api`, which answers 404
 * in the API's error body. With `processes`, each function runs in a process of its own, as each is
 * its own service in GCP (`npm start`, benchmarks); without, all run in this process (tests).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gatewayRoute } from '../shared/http/gatewayRoutes.ts';
import { type FunctionProcessPlan, startFunctionProcesses } from './functionProcesses.ts';

export const FUNCTIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'functions');

/** Every folder of functions/ with an index.ts is a function registered under the folder's name. */
export function functionTargets(): string[] {
  return readdirSync(FUNCTIONS_DIR)
    .filter((name) => existsSync(join(FUNCTIONS_DIR, name, 'index.ts')))
    .sort();
}

export interface FunctionHost {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** A module whose HTTP functions share the host without being part of the product (the example worker). */
export interface Mount {
  module: string;
  target: string;
}

export interface FunctionHostOptions {
  host?: string;
  port: number;
  /**
   * HTTP functions that are not part of the product but share the host (the example worker): requests
   * under the prefix reach `target` of `module` with the prefix removed. Not in the gateway document.
   */
  mounts?: Record<string, Mount>;
  /**
   * Each function in a process of its own, as each is its own service in GCP, behind this process's
   * router (see functionProcesses.ts): what `npm start` and the benchmarks run. Without it every
   * function runs in this process, which tests use to reach the functions' state directly.
   */
  processes?: boolean;
}

/** Where the local stack's push subscriptions deliver events to a function: `/_eventarc/{target}/…`. */
export const EVENTARC_PREFIX = '/_eventarc';
const EVENTARC_PATH = /^\/_eventarc\/([a-z][a-z0-9-]*)(?=\/|$)/;

/** Which function serves a request, and the URL it sees (a mount's or Eventarc's prefix removed). */
export interface HostRoute {
  target: string;
  url: string;
  /** A path the gateway document marks local-only: a CloudEvent function serves it through its HTTP companion. */
  localOnly: boolean;
}

/** Routes one request as the deployed API Gateway does, plus the local stack's mounts and Eventarc paths. */
export function hostRoute(method: string, url: string, mounts: Record<string, Mount> = {}): HostRoute {
  const path = url.split('?')[0]!;
  const mounted = Object.entries(mounts).find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`));
  if (mounted)
    return { target: mounted[1].target, url: rooted(url.slice(mounted[0].length)), localOnly: false };
  // Eventarc's delivery of a Pub/Sub message to a CloudEvent function: the local push subscriptions
  // post to `/_eventarc/{target}/…`, and the framework turns the push body into the CloudEvent.
  const event = EVENTARC_PATH.exec(path);
  if (event) return { target: event[1]!, url: rooted(url.slice(event[0].length)), localOnly: false };
  const route = gatewayRoute(method, path);
  return { target: route?.backend ?? 'api', url, localOnly: route?.localOnly ?? false };
}

const rooted = (url: string) => (url.startsWith('/') ? url : `/${url}`);

/** A CloudEvent function's local-only HTTP paths are served by this companion target (local stack only). */
const LOCAL_HTTP_COMPANION = (backend: string) => `${backend}-http`;

/**
 * Serves requests with the functions registered in this process, through the Functions Framework's
 * own request handling: `serve(target, localOnly, req, res)`.
 */
export async function functionServers() {
  const { getFunction, getTestServer } = await import('@google-cloud/functions-framework/testing');
  const servers = new Map<string, Server>();
  return (target: string, localOnly: boolean, req: IncomingMessage, res: ServerResponse) => {
    const companion = LOCAL_HTTP_COMPANION(target);
    const name = localOnly && getFunction(companion) ? companion : target;
    let server = servers.get(name);
    if (!server) servers.set(name, (server = getTestServer(name)));
    server.emit('request', req, res);
  };
}

/**
 * One process per function folder, and one per mount. `rebuild` shares `compaction`'s process: a
 * rebuild replays through the process's scheduler of the workspace rather than wait for its lease.
 */
function processPlans(mounts: Record<string, Mount>): FunctionProcessPlan[] {
  const joined: Record<string, string> = { rebuild: 'compaction' };
  const plans = new Map<string, FunctionProcessPlan>();
  for (const target of functionTargets()) {
    const name = joined[target] ?? target;
    const plan = plans.get(name) ?? { name, modules: [], targets: [] };
    plan.modules.push(join(FUNCTIONS_DIR, target, 'index.ts'));
    plan.targets.push(target, LOCAL_HTTP_COMPANION(target));
    plans.set(name, plan);
  }
  for (const { module, target } of Object.values(mounts))
    plans.set(target, { name: target, modules: [module], targets: [target] });
  return [...plans.values()];
}

export async function startFunctionHost(options: FunctionHostOptions): Promise<FunctionHost> {
  const mounts = options.mounts ?? {};
  let serve: (route: HostRoute, req: IncomingMessage, res: ServerResponse) => void;
  let stopProcesses = async () => {};
  if (options.processes) {
    const processes = await startFunctionProcesses(processPlans(mounts));
    serve = processes.serve;
    stopProcesses = processes.stop;
  } else {
    for (const target of functionTargets())
      await import(pathToFileURL(join(FUNCTIONS_DIR, target, 'index.ts')).href);
    for (const mount of Object.values(mounts)) await import(pathToFileURL(mount.module).href);
    const inProcess = await functionServers();
    serve = (route, req, res) => inProcess(route.target, route.localOnly, req, res);
  }
  const server = createServer((req, res) => {
    const route = hostRoute(req.method ?? 'GET', req.url ?? '/', mounts);
    req.url = route.url;
    serve(route, req, res);
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Idle keep-alive sockets outlive fetch's own (undici: 4 s), so a client never reuses a socket the
      // server is closing at that moment (Node's 5 s default races fetch's pool). The Cloud Tasks
      // stand-in's node:http agent keeps sockets longer and sends again once on such a reset.
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      // A body that never arrives in full (a Content-Length larger than what is sent) is answered 408
      // after this long, not Node's 300 s; it must be at least headersTimeout.
      server.requestTimeout = 70_000;
      server.listen(options.port, host, resolve);
    });
  } catch (error) {
    await stopProcesses();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await stopProcesses();
    },
  };
}
