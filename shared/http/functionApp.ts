import { Hono } from 'hono';
import type { IdGenerator } from '../adapters/idGenerator.ts';
import type { TokenVerifier } from '../auth/tokenVerifier.ts';
import type { Logger } from '../observability/logger.ts';
import type { AppEnv } from './appEnv.ts';
import { authenticate, requireWorkspace } from './authMiddleware.ts';
import { handleError, handleNotFound } from './errorHandler.ts';
import { requestBodyLimit } from './requestBodyLimit.ts';
import { requestContext } from './requestContext.ts';

/** What every HTTP function's app needs of its dependencies. */
export interface FunctionAppDependencies {
  config: { maxBodyBytes: number };
  tokens: TokenVerifier;
  log: Logger;
  ids: IdGenerator;
}

/** Worker callbacks carry their dispatch's task token, not a bearer token of a user or service. */
const TASK_CALLBACK_PATH = /^\/api\/v1\/tasks\//;
/** Pub/Sub push authenticates with its own OIDC token or the local push secret (see pushAuth). */
export const SENSOR_PUSH_PATH = '/internal/sensors/pubsub';

/**
 * The app every HTTP function of `functions/` starts from, so that each of them answers the same way
 * whatever routes it mounts: a request id and one log line per request, bodies over `maxBodyBytes`
 * refused with 413, every error in the API's own error body (spec README decision 3), bearer-token
 * authentication on `/api`, `/data-contract-registry`, `/internal` and `/compactor` (except worker
 * callbacks and sensor push, which carry their own credentials), and a path's `{workspaceId}` that is
 * not the token's answered 404. The caller mounts its routes on the returned app.
 */
export function createFunctionApp(deps: FunctionAppDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestContext(deps.log, deps.ids));
  app.use('*', requestBodyLimit(deps.config.maxBodyBytes));
  app.onError(handleError);
  app.notFound(handleNotFound);

  const bearerAuth = authenticate(deps.tokens);
  for (const prefix of ['/api/*', '/data-contract-registry/*', '/internal/*', '/compactor/*'])
    app.use(prefix, (c, next) =>
      TASK_CALLBACK_PATH.test(c.req.path) || c.req.path === SENSOR_PUSH_PATH ? next() : bearerAuth(c, next),
    );
  app.use('/api/v1/workspaces/:workspaceId', requireWorkspace);
  app.use('/api/v1/workspaces/:workspaceId/*', requireWorkspace);
  return app;
}
