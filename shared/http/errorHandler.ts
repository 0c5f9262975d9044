import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { InjectedFault } from '../core/failpoints.ts';
import { ApiError } from './apiError.ts';
import type { AppEnv } from './appEnv.ts';
import { dialectForPath, errorBody } from './errorBody.ts';

/** Turns anything thrown by a route into the API family's error body; 5xx details stay in the logs. */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  const log = c.get('log');
  let apiError: ApiError;
  if (error instanceof ApiError) apiError = error;
  else if (error instanceof InjectedFault)
    apiError = new ApiError(
      500,
      error.message,
      { reason: 'injected_fault', failpoint: error.failpoint },
      'injected_fault',
    );
  else if (error instanceof HTTPException)
    apiError = new ApiError(error.status, error.message || 'request rejected');
  else {
    log?.error('unhandled error', { error: error.stack ?? String(error) });
    apiError = new ApiError(500, 'internal error');
  }
  if (apiError.status >= 500 && apiError !== (error as unknown))
    log?.warn(apiError.message, { details: apiError.details });
  const requestId = c.get('requestId') ?? '';
  const body = errorBody(dialectForPath(c.req.path), apiError, requestId);
  c.set('errorCode', String(body.code));
  return c.json(body, apiError.status as 400, { 'Cache-Control': 'no-store', ...apiError.headers });
}

export function handleNotFound(c: Context<AppEnv>): Response {
  return handleError(new ApiError(404, `no route for ${c.req.method} ${c.req.path}`), c);
}
