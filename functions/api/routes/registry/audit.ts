import { Hono } from 'hono';
import type { AppEnv } from '../../../../shared/http/appEnv.ts';
import type { RegistryContext } from './registryContext.ts';
import { endpoint, envelope, pageParams } from './registryRequest.ts';

/** The timeline of state changes (spec §3.6), newest first: who did what, with which correlation id. */
export function auditRoutes(registry: RegistryContext) {
  const routes = new Hono<AppEnv>();
  routes.get(
    '/audit',
    endpoint(registry.deps, registry.limiter, 'GET', '/audit', 'read', ['operator']),
    async (c) => {
      const page = pageParams(c);
      const result = await registry
        .store(c)
        .listAudit(
          { target: c.req.query('target') || undefined, action: c.req.query('action') || undefined },
          page,
        );
      return c.json(envelope(result, page));
    },
  );
  return routes;
}
