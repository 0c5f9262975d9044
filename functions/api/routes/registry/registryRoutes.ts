import { Hono } from 'hono';
import type { AppEnv } from '../../../../shared/http/appEnv.ts';
import type { Dependencies } from '../../../../shared/runtime/dependencies.ts';
import { auditRoutes } from './audit.ts';
import { compatibilityCheckRoutes } from './compatibilityCheck.ts';
import { datasetRoutes } from './datasets.ts';
import { registryContext } from './registryContext.ts';
import { requestCompletedLog } from './requestCompletedLog.ts';
import { schemaRoutes } from './schemas.ts';
import { subscriptionRoutes } from './subscriptions.ts';

/** The Data Contract Registry API, mounted at `/data-contract-registry/v1`. */
export function registryRoutes(deps: Dependencies) {
  const registry = registryContext(deps);
  const routes = new Hono<AppEnv>();
  routes.use('*', requestCompletedLog);
  routes.route('/', datasetRoutes(registry));
  routes.route('/', schemaRoutes(registry));
  routes.route('/', subscriptionRoutes(registry));
  routes.route('/', compatibilityCheckRoutes(registry));
  routes.route('/', auditRoutes(registry));
  return routes;
}
