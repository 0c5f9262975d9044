import { Hono } from 'hono';
import type { AppEnv } from '../../../shared/http/appEnv.ts';

/** Who the caller is and which workspace the token opens: the first thing an operator checks. */
export function workspaceRoutes() {
  const routes = new Hono<AppEnv>();
  routes.get('/whoami', (c) => {
    const principal = c.get('principal');
    return c.json({
      subject: principal.subject,
      ...(principal.scope
        ? { tenantId: principal.scope.tenant, workspaceId: principal.scope.workspace }
        : {}),
      roles: principal.roles,
      internal: principal.internal,
    });
  });
  routes.get('/workspaces/:workspaceId', (c) => {
    const scope = c.get('principal').scope!;
    return c.json({ tenantId: scope.tenant, workspaceId: scope.workspace });
  });
  return routes;
}
