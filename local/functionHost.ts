/**
 * Hosts every Cloud Function of `functions/` in one process, through the Functions Framework's own
 * request handling (body parsing, Pub/Sub push → CloudEvent), routed by path: `/{target}/…` reaches
 * that target with the prefix removed; everything else reaches `api`. In GCP each target is its own
 * function; here one process keeps the stack light (one process for every target starts in about
 * 0.1 s and uses about 60 MB, against about 70 MB for each `functions-framework --target` process).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const FUNCTIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'functions');

/** Every folder of functions/ with an index.ts is a target registered under the folder's name. */
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
  /** Targets registered by the caller itself (tests), routed like the ones in functions/. */
  extraTargets?: string[];
}

export async function startFunctionHost(options: FunctionHostOptions): Promise<FunctionHost> {
  const modules = functionTargets();
  for (const target of modules) await import(pathToFileURL(join(FUNCTIONS_DIR, target, 'index.ts')).href);
  const targets = [...modules, ...(options.extraTargets ?? [])];
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  const servers = new Map(targets.map((target) => [target, getTestServer(target)]));
  const api = servers.get('api');
  if (!api) throw new Error('functions/api must register the `api` target');
  const server = createServer((req, res) => {
    const first = (req.url ?? '/').split(/[/?]/)[1] ?? '';
    const target = first !== 'api' ? servers.get(first) : undefined;
    if (target) {
      req.url = (req.url ?? '/').slice(first.length + 1) || '/';
      if (!req.url.startsWith('/')) req.url = `/${req.url}`;
      target.emit('request', req, res);
    } else api.emit('request', req, res);
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
