import type { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { createFunctionApp } from '../../shared/http/functionApp.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { backfillCommandRoutes } from './backfillCommandRoutes.ts';
import { pipelineCommandRoutes } from './pipelineCommandRoutes.ts';
import { runCommandRoutes } from './runCommandRoutes.ts';
import { scheduleCommandRoutes } from './scheduleCommandRoutes.ts';
import { sensorCommandRoutes } from './sensorCommandRoutes.ts';

/**
 * The run-trigger function: every orchestration command that appends ledger events on a user's behalf.
 * Runs: trigger, rerun, cancel, retry (`POST /api/v1/workspaces/{ws}/runs…`); and the commands that
 * start or steer runs: schedule changes, sensor evaluation, backfills, pipeline runs and pipeline
 * backfill cancels. Reads of all of these are the api function's.
 */
export function createRunTriggerApp(deps: Dependencies): Hono<AppEnv> {
  const app = createFunctionApp(deps);
  app.route('/api/v1', runCommandRoutes(deps));
  app.route('/api/v1', scheduleCommandRoutes(deps));
  app.route('/api/v1', sensorCommandRoutes(deps));
  app.route('/api/v1', backfillCommandRoutes(deps));
  app.route('/api/v1', pipelineCommandRoutes(deps));
  return app;
}
