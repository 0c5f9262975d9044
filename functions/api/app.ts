import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../../shared/http/apiError.ts';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { authenticate, requireRole, requireWorkspace } from '../../shared/http/authMiddleware.ts';
import { handleError, handleNotFound } from '../../shared/http/errorHandler.ts';
import { requestContext } from '../../shared/http/requestContext.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { backfillRoutes } from './routes/backfills.ts';
import { deltaTableRoutes } from './routes/deltaTables.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { SENSOR_PUSH_PATH, sensorPushRoutes } from './routes/sensorPush.ts';
import { sensorRoutes } from './routes/sensors.ts';
import { healthRoutes } from './routes/health.ts';
import { automationRoutes } from './routes/internalAutomation.ts';
import { internalFailpointRoutes } from './routes/internalFailpoints.ts';
import { manifestRoutes } from './routes/manifests.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { pointerRoutes } from './routes/pointers.ts';
import { registryRoutes } from './routes/registry/registryRoutes.ts';
import { runRoutes } from './routes/runs.ts';
import { taskCallbackRoutes, timerRoutes } from './routes/taskCallbacks.ts';
import { workspaceRoutes } from './routes/workspaces.ts';
import { uiRoutes } from './ui/uiRoutes.ts';

/** The public API: `/api/v1`, `/data-contract-registry/v1`, `/internal` (internal callers) and probes. */
export function createApiApp(deps: Dependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestContext(deps.log, deps.ids));
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.config.maxBodyBytes,
      onError: () => {
        throw new ApiError(413, `request body exceeds ${deps.config.maxBodyBytes} bytes`);
      },
    }),
  );
  app.onError(handleError);
  app.notFound(handleNotFound);

  const bearerAuth = authenticate(deps.tokens);
  // Metrics are for operators and the platform's own scrapers (registry spec §4.8).
  app.use('/metrics', bearerAuth, requireRole('operator'));
  app.route('/', healthRoutes());
  // Worker callbacks carry the task token of their dispatch instead of a user or service token.
  for (const prefix of ['/api/*', '/data-contract-registry/*', '/internal/*'])
    app.use(prefix, (c, next) =>
      c.req.path.startsWith('/api/v1/tasks/') || c.req.path === SENSOR_PUSH_PATH
        ? next()
        : bearerAuth(c, next),
    );
  app.use('/api/v1/workspaces/:workspaceId', requireWorkspace);
  app.use('/api/v1/workspaces/:workspaceId/*', requireWorkspace);

  app.route('/api/v1', workspaceRoutes());
  app.route('/api/v1/delta', deltaTableRoutes(deps));
  app.route('/api/v1', manifestRoutes(deps));
  app.route('/api/v1', runRoutes(deps));
  app.route('/api/v1', taskCallbackRoutes(deps));
  app.route('/api/v1', scheduleRoutes(deps));
  app.route('/api/v1', sensorRoutes(deps));
  app.route('/api/v1', backfillRoutes(deps));
  app.route('/api/v1', pipelineRoutes(deps));
  app.route('/api/v1', pointerRoutes(deps));
  app.route('/', sensorPushRoutes(deps));
  app.route('/data-contract-registry/v1', registryRoutes(deps));
  app.route('/internal', timerRoutes(deps));
  app.route('/internal', automationRoutes(deps));
  if (deps.config.localStack) app.route('/internal', internalFailpointRoutes(deps.failpoints));
  app.get('/ui/', (c) => c.redirect('/ui/runs'));
  app.route('/ui', uiRoutes(deps, app));
  return app;
}
