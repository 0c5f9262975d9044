import type { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** A small JSON client over an in-process hono app (or any fetch-like), for tests. */
export function apiClient(app: Pick<Hono<AppEnv>, 'request'>, headers: Record<string, string>) {
  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ) => {
    const response = await app.request(path, {
      method,
      headers: {
        ...headers,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...extra,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : {}) as T,
      headers: response.headers,
    } satisfies ApiResponse<T>;
  };
  return {
    get: <T = Record<string, unknown>>(path: string) => call<T>('GET', path),
    post: <T = Record<string, unknown>>(path: string, body: unknown, extra?: Record<string, string>) =>
      call<T>('POST', path, body, extra),
  };
}
