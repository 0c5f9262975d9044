import type { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { authenticate, requireRole } from '../../shared/http/authMiddleware.ts';
import { createFunctionApp } from '../../shared/http/functionApp.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { backfillRoutes } from './routes/backfills.ts';
import { healthRoutes } from './routes/health.ts';
import { internalFailpointRoutes } from './routes/internalFailpoints.ts';
import { manifestRoutes } from './routes/manifests.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { pointerRoutes } from './routes/pointers.ts';
import { registryRoutes } from './routes/registry/registryRoutes.ts';
import { runRoutes } from './routes/runs.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { sensorPushRoutes } from './routes/sensorPush.ts';
import { sensorRoutes } from './routes/sensors.ts';
import { workspaceRoutes } from './routes/workspaces.ts';
import { uiRoutes } from './ui/uiRoutes.ts';

/**
 * The api function: reads of runs, partitions and Delta lineage, code-location manifests, schedules,
 * sensors and backfills, pipelines and current pointers, the Data Contract Registry
 * (`/data-contract-registry/v1`), sensor push, the operator UI (`/ui`) and probes. Run commands,
 * callbacks, Delta commits, compaction and automation are functions of their own (docs/architecture.md).
 */
export function createApiApp(deps: Dependencies): Hono<AppEnv> {
  const app = createFunctionApp(deps);
  // Metrics are for operators and the platform's own scrapers (registry spec §4.8).
  app.use('/metrics', authenticate(deps.tokens), requireRole('operator'));
  app.route('/', healthRoutes());
  app.route('/api/v1', workspaceRoutes());
  app.route('/api/v1', manifestRoutes(deps));
  app.route('/api/v1', runRoutes(deps));
  app.route('/api/v1', scheduleRoutes(deps));
  app.route('/api/v1', sensorRoutes(deps));
  app.route('/api/v1', backfillRoutes(deps));
  app.route('/api/v1', pipelineRoutes(deps));
  app.route('/api/v1', pointerRoutes(deps));
  app.route('/', sensorPushRoutes(deps));
  app.route('/data-contract-registry/v1', registryRoutes(deps));
  if (deps.config.localStack) app.route('/internal', internalFailpointRoutes(deps.failpoints));
  app.get('/ui/', (c) => c.redirect('/ui/runs'));
  app.route('/ui', uiRoutes(deps, app));
  return app;
}
