import type { Hono } from 'hono';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp, FUNCTION_APPS } from '../../local/functionApps.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { bearer, TEST_SECRET, testDependencies, testToken } from '../support/testDependencies.ts';

const concretePath = (template: string, workspace: string) =>
  template.replace(':workspaceId', workspace).replace(/:[A-Za-z_]+(\{[^}]*\})?/g, 'x');

describe('authentication and workspace scoping', () => {
  let app: Hono<AppEnv>;
  let deps: Dependencies;
  beforeAll(async () => {
    deps = await testDependencies();
    app = createGatewayApp(deps);
  });

  it('answers 401 MISSING_AUTH without a token and INVALID_TOKEN for bad, expired, unsigned or foreign tokens', async () => {
    const missing = await app.request('/api/v1/whoami');
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ code: 'MISSING_AUTH' });
    const key = new TextEncoder().encode(TEST_SECRET);
    const claims = { tenant: 'acme', workspace: 'a', roles: ['operator'] };
    const base = () => new SignJWT(claims).setIssuer('arco-local').setAudience('arco').setSubject('u');
    const expired = await base()
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(1)
      .setExpirationTime(2)
      .sign(key);
    const foreign = await base()
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret'));
    const payload = Buffer.from(
      JSON.stringify({ ...claims, iss: 'arco-local', aud: 'arco', exp: 9e9 }),
    ).toString('base64url');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    const valid = await testToken(claims as never);
    const tampered = `${valid.split('.')[0]}.${payload}.${valid.split('.')[2]}`;
    for (const [token, message] of [
      ['garbage', 'invalid token'],
      [expired, 'token expired'],
      [foreign, 'invalid token'],
      [unsigned, 'invalid token'],
      [tampered, 'invalid token'],
    ] as const) {
      const response = await app.request('/api/v1/whoami', { headers: { Authorization: `Bearer ${token}` } });
      expect(response.status, message).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'INVALID_TOKEN', message });
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('takes the scope from the token only', async () => {
    const response = await app.request('/api/v1/whoami', {
      headers: {
        ...(await bearer({ tenant: 'acme', workspace: 'a', roles: ['consumer'] })),
        'X-Workspace-Id': 'b',
      },
    });
    expect(await response.json()).toEqual({
      subject: 'local-user',
      tenantId: 'acme',
      workspaceId: 'a',
      roles: ['consumer'],
      internal: false,
    });
  });

  it('gives a token for workspace A a 404 on every workspace route of workspace B, as if B were absent', async () => {
    // Every function's routes, each reached through the gateway as a user would.
    const routes = Object.values(FUNCTION_APPS)
      .flatMap((create) => create(deps).routes)
      .filter((r) => r.path.includes(':workspaceId') && r.method !== 'ALL');
    expect(routes.length).toBeGreaterThan(0);
    const headers = await bearer({
      tenant: 'acme',
      workspace: 'a',
      roles: ['operator', 'producer', 'consumer'],
    });
    for (const route of routes) {
      const response = await app.request(concretePath(route.path, 'b'), {
        method: route.method,
        headers: { ...headers, 'content-type': 'application/json' },
        ...(route.method === 'GET' ? {} : { body: '{}' }),
      });
      expect(response.status, `${route.method} ${route.path}`).toBe(404);
      expect(await response.json()).toMatchObject({ code: 'NOT_FOUND', message: 'workspace not found' });
    }
    const own = await app.request('/api/v1/workspaces/a', { headers });
    expect(own.status).toBe(200);
  });

  it('keeps internal routes for the internal identity', async () => {
    const user = await app.request('/internal/failpoints', {
      headers: await bearer({ tenant: 'acme', workspace: 'a', roles: ['operator'] }),
    });
    expect(user.status).toBe(403);
    const internal = await app.request('/internal/failpoints', { headers: await bearer({ internal: true }) });
    expect(internal.status).toBe(200);
  });
});
