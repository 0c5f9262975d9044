import { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { requireInternal } from '../../shared/http/authMiddleware.ts';
import { HTTP_STATUS } from '../../shared/http/errorBody.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import {
  type CallbackBody,
  CallbackError,
  type CallbackKind,
  fireRetryTimer,
  handleTaskCallback,
  type RetryTimer,
} from '../../shared/orchestration/run/taskCallbacks.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';

const callbackBody = validator<CallbackBody>({
  type: 'object',
  required: ['attempt', 'attemptId'],
  properties: {
    attempt: { type: 'integer', minimum: 0 },
    attemptId: { type: 'string', minLength: 1 },
    workerId: { type: 'string' },
    traceparent: { type: 'string' },
    startedAt: { type: 'string' },
    heartbeatAt: { type: 'string' },
    completedAt: { type: 'string' },
    progressPct: { type: 'number' },
    message: { type: 'string' },
    outcome: { enum: ['SUCCEEDED', 'FAILED', 'CANCELLED'] },
    output: { type: 'object' },
    result: { type: 'object' },
    error: { type: 'object' },
    metrics: { type: 'object' },
  },
});

const timerBody = validator<RetryTimer>({
  type: 'object',
  required: ['tenantId', 'workspaceId', 'timerId', 'runId', 'taskKey', 'attempt'],
  properties: {
    tenantId: { type: 'string' },
    workspaceId: { type: 'string' },
    timerId: { type: 'string' },
    runId: { type: 'string' },
    taskKey: { type: 'string' },
    attempt: { type: 'integer', minimum: 1 },
  },
});

/** Worker callbacks, authenticated by the task token of the dispatch (orchestration spec §18). */
export function taskCallbackRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  for (const kind of ['started', 'heartbeat', 'completed'] as const satisfies CallbackKind[]) {
    routes.post(`/tasks/:taskId/${kind}`, async (c) => {
      try {
        const body = await readJsonBody(c, callbackBody);
        const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
        return c.json(await handleTaskCallback(deps, kind, c.req.param('taskId'), bearer, body));
      } catch (error) {
        if (error instanceof CallbackError)
          return c.json(
            { error: error.error, message: error.message, ...error.extra },
            HTTP_STATUS[error.code] as 400,
          );
        throw error;
      }
    });
  }
  return routes;
}

/** Timers fired by Cloud Tasks at their deadline (internal identity). */
export function timerRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  routes.use('/timers/*', requireInternal);
  routes.post('/timers/fire', async (c) =>
    c.json(await fireRetryTimer(deps, await readJsonBody(c, timerBody))),
  );
  return routes;
}
