/**
 * What went wrong, as a canonical code (after google.rpc.Code, in snake_case). Domain code names the
 * kind of failure and never an HTTP status; the HTTP layer maps each code to a status in one place
 * (`shared/http/errorBody.ts`).
 */
export type ErrorCode =
  | 'invalid_argument'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'conflict'
  | 'gone'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'resource_exhausted'
  | 'internal'
  | 'unavailable';

/** How an error presents beyond its code, message and details. */
export interface ArcoErrorOptions {
  /** The body's `code` instead of the API family's default for the error code (e.g. `MISSING_AUTH`). */
  wireCode?: string;
  /** The caller may retry after this many seconds (HTTP `Retry-After`). */
  retryAfterSeconds?: number;
}

/**
 * The one error type Arco answers with: domain refusals (a run-key conflict, a stale Delta read
 * version, an unknown run) and request problems (a malformed body) alike. `details` is the body's
 * `details` (`details.reason` is a stable sub-code); anything else thrown answers 500 with nothing of
 * its own shown. Modelled on hono's single `HTTPException`, without the HTTP status.
 */
export class ArcoError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly options: ArcoErrorOptions = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new ArcoError('invalid_argument', message, details);
export const forbidden = (message: string) => new ArcoError('permission_denied', message);
export const notFound = (message: string, details?: Record<string, unknown>) =>
  new ArcoError('not_found', message, details);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new ArcoError('conflict', message, details);
