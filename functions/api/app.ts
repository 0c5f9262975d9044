import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../../shared/http/apiError.ts';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { authenticate, requireWorkspace } from '../../shared/http/authMiddleware.ts';
import { handleError, handleNotFound } from '../../shared/http/errorHandler.ts';
import { requestContext } from '../../shared/http/requestContext.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { deltaTableRoutes } from './routes/deltaTables.ts';
import { healthRoutes } from './routes/health.ts';
import { internalFailpointRoutes } from './routes/internalFailpoints.ts';
import { manifestRoutes } from './routes/manifests.ts';
import { runRoutes } from './routes/runs.ts';
import { workspaceRoutes } from './routes/workspaces.ts';

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

  app.route('/', healthRoutes());
  for (const prefix of ['/api/*', '/data-contract-registry/*', '/internal/*'])
    app.use(prefix, authenticate(deps.tokens));
  app.use('/api/v1/workspaces/:workspaceId', requireWorkspace);
  app.use('/api/v1/workspaces/:workspaceId/*', requireWorkspace);

  app.route('/api/v1', workspaceRoutes());
  app.route('/api/v1/delta', deltaTableRoutes(deps));
  app.route('/api/v1', manifestRoutes(deps));
  app.route('/api/v1', runRoutes(deps));
  if (deps.config.localStack) app.route('/internal', internalFailpointRoutes(deps.failpoints));
  return app;
}
