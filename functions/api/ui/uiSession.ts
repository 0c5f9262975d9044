import { gatewayRoute } from '../../../shared/http/gatewayRoutes.ts';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { InvalidTokenError } from '../../../shared/auth/tokenVerifier.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';

/** The bearer token entered once, kept in a cookie only the UI's paths receive. */
export const UI_COOKIE = 'arco_ui_token';

export function rememberToken(c: Context, token: string) {
  setCookie(c, UI_COOKIE, token, {
    path: '/ui',
    httpOnly: true,
    sameSite: 'Strict',
    secure: new URL(c.req.url).protocol === 'https:',
    maxAge: 12 * 3600,
  });
}

export const forgetToken = (c: Context) => deleteCookie(c, UI_COOKIE, { path: '/ui' });

/** Pages need a valid token for a workspace; without one they send the browser to the login page. */
export function uiSession(deps: Dependencies): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = getCookie(c, UI_COOKIE);
    const login = `/ui/login?next=${encodeURIComponent(c.req.path + (new URL(c.req.url).search || ''))}`;
    if (!token) return c.redirect(login);
    try {
      const principal = await deps.tokens.verify(token);
      if (!principal.scope) return c.redirect(`${login}&error=scope`);
      c.set('principal', principal);
    } catch (error) {
      if (error instanceof InvalidTokenError) return c.redirect(`${login}&error=expired`);
      throw error;
    }
    await next();
  };
}

export class UiApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message ?? `API answered ${status}`));
  }
}

/**
 * The UI reads and acts through the public API with the user's own token, so every page sees exactly
 * what the API allows that token (scope, roles) and nothing else. Routes of the api function are
 * called in process; routes of other functions (Delta tables, backfill commands) through the public
 * base URL, as the gateway document routes them.
 */
export function uiApi(app: Pick<Hono<AppEnv>, 'request'>, c: Context<AppEnv>, publicBaseUrl: string) {
  const token = getCookie(c, UI_COOKIE)!;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const owner = gatewayRoute(method, path.split('?')[0]!)?.backend ?? 'api';
    const send =
      owner === 'api'
        ? app.request.bind(app)
        : (p: string, init: RequestInit) => fetch(`${publicBaseUrl}${p}`, init);
    const response = await send(path, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    const parsed = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (!response.ok) throw new UiApiError(response.status, parsed);
    return parsed as T;
  };
  const workspace = c.get('principal').scope!.workspace;
  return {
    workspace,
    ws: `/api/v1/workspaces/${workspace}`,
    get: <T = Record<string, unknown>>(path: string) => call<T>('GET', path),
    post: <T = Record<string, unknown>>(path: string, body: unknown = {}) => call<T>('POST', path, body),
  };
}

export type UiApi = ReturnType<typeof uiApi>;
