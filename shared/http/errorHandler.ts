import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { InjectedFault } from '../core/failpoints.ts';
import { ArcoError } from '../core/arcoError.ts';
import type { AppEnv } from './appEnv.ts';
import { transientBackendError } from './transientBackendError.ts';
import { dialectForPath, errorBody, errorCodeForStatus, errorHeaders, HTTP_STATUS } from './errorBody.ts';

/**
 * Turns anything thrown by a route into the API family's error body: an ArcoError as its code maps
 * (errorBody.ts), an injected fault as 500 `injected_fault`, a transient failure of a backing service as 503
 * retryable (transientBackendError.ts), anything else as 500 `internal error` with its stack in the
 * log only.
 */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  const log = c.get('log');
  let apiError: ArcoError;
  if (error instanceof ArcoError) apiError = error;
  else if (error instanceof InjectedFault)
    apiError = new ArcoError(
      'internal',
      error.message,
      { reason: 'injected_fault', failpoint: error.failpoint },
      { wireCode: 'injected_fault' },
    );
  else if (error instanceof HTTPException)
    apiError = new ArcoError(errorCodeForStatus(error.status), error.message || 'request rejected');
  else {
    const transient = transientBackendError(error);
    if (transient) log?.warn('backing service busy; answered retryable', { error: String(error) });
    else log?.error('unhandled error', { error: error.stack ?? String(error) });
    apiError = transient ?? new ArcoError('internal', 'internal error');
  }
  const status = HTTP_STATUS[apiError.code];
  if (status >= 500 && apiError !== (error as unknown))
    log?.warn(apiError.message, { details: apiError.details });
  const requestId = c.get('requestId') ?? '';
  const body = errorBody(dialectForPath(c.req.path), apiError, requestId);
  c.set('errorCode', String(body.code));
  return c.json(body, status as 400, { 'Cache-Control': 'no-store', ...errorHeaders(apiError) });
}

export function handleNotFound(c: Context<AppEnv>): Response {
  return handleError(new ArcoError('not_found', `no route for ${c.req.method} ${c.req.path}`), c);
}
