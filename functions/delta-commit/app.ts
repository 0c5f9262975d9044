import type { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { createFunctionApp } from '../../shared/http/functionApp.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { deltaTableRoutes } from './deltaTableRoutes.ts';

/** The delta-commit function: Delta tables, staging, commits and coordinator reads (`/api/v1/delta/…`). */
export function createDeltaCommitApp(deps: Dependencies): Hono<AppEnv> {
  const app = createFunctionApp(deps);
  app.route('/api/v1/delta', deltaTableRoutes(deps));
  return app;
}
