import { Hono } from 'hono';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { metricsRegistry } from '../../../shared/observability/metrics.ts';

export function healthRoutes() {
  const routes = new Hono<AppEnv>();
  routes.get('/healthz', (c) => c.json({ status: 'ok' }));
  // A browser opening the printed base URL lands on the operator UI.
  routes.get('/', (c) => c.redirect('/ui/runs'));
  routes.get('/metrics', async (c) =>
    c.body(await metricsRegistry.metrics(), 200, { 'Content-Type': metricsRegistry.contentType }),
  );
  return routes;
}
