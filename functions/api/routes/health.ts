import { Hono } from 'hono';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { metricsRegistry } from '../../../shared/observability/metrics.ts';

export function healthRoutes() {
  const routes = new Hono<AppEnv>();
  routes.get('/healthz', (c) => c.json({ status: 'ok' }));
  routes.get('/metrics', async (c) =>
    c.body(await metricsRegistry.metrics(), 200, { 'Content-Type': metricsRegistry.contentType }),
  );
  return routes;
}
