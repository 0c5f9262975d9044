import type { FunctionHost } from '../../local/functionHost.ts';
import { bearer } from './testDependencies.ts';

/** JSON calls to a function host as a workspace's operator, plus its internal automation tick. */
export async function hostClient(host: FunctionHost, scope: { tenant: string; workspace: string }) {
  const user = await bearer({ ...scope, roles: ['operator', 'producer'] });
  const internal = await bearer({ ...scope, internal: true });
  const call = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = user,
  ) => {
    const response = await fetch(`${host.url}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
  };
  const ws = `/api/v1/workspaces/${scope.workspace}`;
  return {
    call,
    ws,
    tick: async (now: Date | string = new Date()) => {
      const response = await call(
        'POST',
        '/internal/automation/tick',
        { now: new Date(now).toISOString() },
        internal,
      );
      if (response.status !== 200)
        throw new Error(`tick: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body as Record<string, Record<string, number>>;
    },
    /** Polls `read` until `done` holds or the deadline passes; returns the last value. */
    until: async <T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      let value = await read();
      while (!done(value) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        value = await read();
      }
      return value;
    },
  };
}
