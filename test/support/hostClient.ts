import type { FunctionHost } from '../../local/functionHost.ts';
import { bearer } from './testDependencies.ts';

/**
 * JSON calls to a function host as a workspace's operator, plus its internal automation tick. A
 * mutation of the workspace API is followed by `settle()`, so these tests read their own writes
 * without waiting for the publish cadence (what a mutation answers is tested elsewhere).
 */
export async function hostClient(host: FunctionHost, scope: { tenant: string; workspace: string }) {
  const user = await bearer({ ...scope, roles: ['operator', 'producer'] });
  const internal = await bearer({ ...scope, internal: true });
  const send = async <T = Record<string, unknown>>(
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
  const call = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = user,
  ) => {
    const response = await send<T>(method, path, body, headers);
    if (method !== 'GET' && path.startsWith('/api/')) await settle();
    return response;
  };
  const ws = `/api/v1/workspaces/${scope.workspace}`;
  /**
   * Publishes whatever is folded or pending now (the compactor's `/compact`), so the next read sees
   * every mutation made so far instead of waiting for the publish cadence.
   */
  const settle = async () => {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const response = await send('POST', '/compactor/compact', {}, internal);
      if (response.status === 200) return;
      if (response.status !== 409)
        throw new Error(`compact: ${response.status} ${JSON.stringify(response.body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('compact: the lease stayed busy');
  };
  return {
    call,
    ws,
    settle,
    /** One automation pass at `now` on settled state, settled again so its effects read back at once. */
    tick: async (now: Date | string = new Date()) => {
      await settle();
      const response = await send(
        'POST',
        '/internal/automation/tick',
        { now: new Date(now).toISOString() },
        internal,
      );
      if (response.status !== 200)
        throw new Error(`tick: ${response.status} ${JSON.stringify(response.body)}`);
      await settle();
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
