import type { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { createFunctionApp } from '../../shared/http/functionApp.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { taskCallbackRoutes, timerRoutes } from './taskCallbackRoutes.ts';

/**
 * The task-completion function: worker callbacks (`POST /api/v1/tasks/{taskId}/started|heartbeat|completed`,
 * authenticated by the dispatch's task token) and retry timers Cloud Tasks fires (`POST /internal/timers/fire`).
 */
export function createTaskCompletionApp(deps: Dependencies): Hono<AppEnv> {
  const app = createFunctionApp(deps);
  app.route('/api/v1', taskCallbackRoutes(deps));
  app.route('/internal', timerRoutes(deps));
  return app;
}
