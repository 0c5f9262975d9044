import { ObjectStoreRateLimitedError } from '../adapters/objectStore.ts';
import { ArcoError } from '../core/arcoError.ts';

/**
 * Numeric `code`s that say "try again": gRPC statuses on the errors of the Firestore and Cloud Tasks
 * clients, HTTP statuses on Cloud Storage's (the two sets do not overlap).
 */
const TRANSIENT_CODES = new Map<number, string>([
  [4, 'backend_deadline_exceeded'],
  [8, 'backend_resource_exhausted'],
  // Contention that outlasted the client library's own transaction retries.
  [10, 'backend_contention'],
  [14, 'backend_unavailable'],
  [429, 'storage_rate_limited'],
  [503, 'storage_unavailable'],
]);

/**
 * The API error for a failure of a backing service (Firestore, Cloud Storage, Cloud Tasks) that the
 * caller should simply retry: 503 `unavailable` with
 * `details.retryable: true`, a `reason` naming the kind, and Retry-After 1 s. Client errors with
 * gRPC code DEADLINE_EXCEEDED (4), RESOURCE_EXHAUSTED (8), ABORTED (10) or UNAVAILABLE (14), Cloud
 * Storage errors 429 and 503 that outlasted its retries, and a GCS write the per-object mutation rate
 * limit refused (ObjectStoreRateLimitedError). Null for anything
 * else, which stays a 500. Without this, a transient condition of the backing store reached clients
 * as 500 `internal error`, which says "a bug" rather than "retry".
 */
export function transientBackendError(error: unknown): ArcoError | null {
  const retry = { retryAfterSeconds: 1 };
  if (error instanceof ObjectStoreRateLimitedError)
    return new ArcoError(
      'unavailable',
      'storage is rate limiting writes to one object; retry',
      { retryable: true, reason: 'storage_rate_limited' },
      retry,
    );
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === 'number' ? TRANSIENT_CODES.get(code) : undefined;
  if (!reason) return null;
  return new ArcoError('unavailable', 'a backing service is busy; retry', { retryable: true, reason }, retry);
}
