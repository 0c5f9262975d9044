/**
 * Hosts every Cloud Function of `functions/` in one process, through the Functions Framework's own
 * request handling (body parsing, CloudEvents), and routes each request as the deployed API Gateway
 * does: by the gateway document `functions/openapi.json` (path and method → function). So the local
 * stack runs the very routing table terraform deploys. A path the document does not know reaches
 * `api`, which answers 404 in the API's error body. In GCP each function is its own service; here one
 * process keeps the stack light (about 0.1 s to start and 60 MB for all, against about 70 MB for each
 * `functions-framework --target` process).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gatewayRoute } from '../shared/http/gatewayRoutes.ts';

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

export interface FunctionHostOptions {
  host?: string;
  port: number;
  /**
   * HTTP functions that are not part of the product but share the host (the example worker): requests
   * under the prefix reach `target` of `module` with the prefix removed. Not in the gateway document.
   */
  mounts?: Record<string, { module: string; target: string }>;
}

/** Where the local stack's push subscriptions deliver events to a function: `/_eventarc/{target}/…`. */
export const EVENTARC_PREFIX = '/_eventarc';
const EVENTARC_PATH = /^\/_eventarc\/([a-z][a-z0-9-]*)(?=\/|$)/;

/** A CloudEvent function's local-only HTTP paths are served by this companion target (local stack only). */
const LOCAL_HTTP_COMPANION = (backend: string) => `${backend}-http`;

export async function startFunctionHost(options: FunctionHostOptions): Promise<FunctionHost> {
  for (const target of functionTargets())
    await import(pathToFileURL(join(FUNCTIONS_DIR, target, 'index.ts')).href);
  for (const mount of Object.values(options.mounts ?? {})) await import(pathToFileURL(mount.module).href);
  const { getFunction, getTestServer } = await import('@google-cloud/functions-framework/testing');
  const servers = new Map<string, Server>();
  const serverOf = (target: string) => {
    let server = servers.get(target);
    if (!server) servers.set(target, (server = getTestServer(target)));
    return server;
  };
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    const mounted = Object.entries(options.mounts ?? {}).find(
      ([prefix]) => path === prefix || path.startsWith(`${prefix}/`),
    );
    if (mounted) {
      req.url = url.slice(mounted[0].length) || '/';
      if (!req.url.startsWith('/')) req.url = `/${req.url}`;
      serverOf(mounted[1].target).emit('request', req, res);
      return;
    }
    // Eventarc's delivery of a Pub/Sub message to a CloudEvent function: the local push subscriptions
    // post to `/_eventarc/{target}/…`, and the framework turns the push body into the CloudEvent.
    const event = EVENTARC_PATH.exec(path);
    if (event) {
      req.url = url.slice(event[0].length) || '/';
      serverOf(event[1]!).emit('request', req, res);
      return;
    }
    const route = gatewayRoute(req.method ?? 'GET', path);
    const backend = route?.backend ?? 'api';
    const companion = LOCAL_HTTP_COMPANION(backend);
    serverOf(route?.localOnly && getFunction(companion) ? companion : backend).emit('request', req, res);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Idle keep-alive sockets outlive the clients' own (undici: 4 s), so a client never reuses a socket
    // the server is closing at that moment (Node's 5 s default races fetch's pool).
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.listen(options.port, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
