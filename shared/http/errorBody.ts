import type { ApiError } from './apiError.ts';

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

export function errorBody(
  dialect: ErrorDialect,
  error: ApiError,
  requestId: string,
): Record<string, unknown> {
  const codes = dialect === 'registry' ? REGISTRY_CODES : ORCHESTRATION_CODES;
  const code = error.code ?? codes[error.status] ?? codes[error.status >= 500 ? 500 : 400]!;
  return {
    code,
    message: error.message,
    ...(error.details ? { details: error.details } : {}),
    ...(dialect === 'registry' ? { correlation_id: requestId } : { requestId }),
  };
}

export const dialectForPath = (path: string): ErrorDialect =>
  path.startsWith('/data-contract-registry/') ? 'registry' : 'orchestration';
