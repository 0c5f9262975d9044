import type { ArcoError, ErrorCode } from '../core/arcoError.ts';

/** The two error dialects: orchestration and Delta speak `requestId`, the registry `correlation_id`. */
export type ErrorDialect = 'orchestration' | 'registry';

const ORCHESTRATION_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const REGISTRY_CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'invalid_request',
  415: 'invalid_request',
  429: 'rate_limited',
  500: 'internal_error',
  503: 'internal_error',
};

/** The one place an error code becomes an HTTP status. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  resource_exhausted: 429,
  internal: 500,
  unavailable: 503,
};

/** The error code of an HTTP status others chose (body-parser's): its own code, else 400 or 500. */
export function errorCodeForStatus(status: number): ErrorCode {
  const found = Object.entries(HTTP_STATUS).find(([, s]) => s === status)?.[0] as ErrorCode | undefined;
  return found ?? (status >= 500 ? 'internal' : 'invalid_argument');
}

/** The headers an error answer carries beyond the body's content type. */
export function errorHeaders(error: ArcoError): Record<string, string> {
  return {
    ...(error.code === 'unauthenticated' ? { 'WWW-Authenticate': 'Bearer' } : {}),
    ...(error.options.retryAfterSeconds !== undefined
      ? { 'Retry-After': String(error.options.retryAfterSeconds) }
      : {}),
  };
}

/**
 * The error body of an API family (spec README decision 3): orchestration and Delta
 * `{code, message, details?, requestId}`, the registry `{code, message, details?, correlation_id}`;
 * `code` is the error's wire code, else the family's name for its HTTP status.
 */
export function errorBody(
  dialect: ErrorDialect,
  error: ArcoError,
  requestId: string,
): Record<string, unknown> {
  const codes = dialect === 'registry' ? REGISTRY_CODES : ORCHESTRATION_CODES;
  const status = HTTP_STATUS[error.code];
  const code = error.options.wireCode ?? codes[status] ?? codes[status >= 500 ? 500 : 400]!;
  return {
    code,
    message: error.message,
    ...(error.details ? { details: error.details } : {}),
    ...(dialect === 'registry' ? { correlation_id: requestId } : { requestId }),
  };
}

export const dialectForPath = (path: string): ErrorDialect =>
  path.startsWith('/data-contract-registry/') ? 'registry' : 'orchestration';
