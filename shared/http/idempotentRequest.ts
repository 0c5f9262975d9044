import type { Clock } from '../adapters/clock.ts';
import type { DocumentStore } from '../adapters/documentStore.ts';
import { ArcoError, conflict } from '../core/arcoError.ts';

/** A response as it is kept for replay: the exact body bytes and the headers that matter (Location). */
export interface StoredResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

interface IdempotencyRecord {
  state: 'in_progress' | 'completed';
  request_fingerprint: string;
  lease_expires_at_ms: number;
  status_code?: number;
  response_body?: string;
  response_headers?: Record<string, string>;
  correlation_id: string;
  created_at: string;
  completed_at?: string;
  /** A Date so that a Firestore TTL policy can delete it; reads never rely on that (TTL is lazy). */
  expires_at?: Date;
  expires_at_ms?: number;
  [extra: string]: unknown;
}

export interface IdempotencyPolicy {
  recordPath: string;
  fingerprint: string;
  correlationId: string;
  leaseMs: number;
  ttlMs: number;
  /** Failures that are the request's outcome and replay as such; any other failure frees the key. */
  keepsError: (error: ArcoError) => boolean;
  errorResponse: (error: ArcoError) => StoredResponse;
  /** Extra fields for the record (principal, resource type, key), for whoever reads the store. */
  describe?: Record<string, unknown>;
}

export interface IdempotentOutcome {
  response: StoredResponse;
  replayed: boolean;
}

const inProgress = () =>
  new ArcoError(
    'conflict',
    'a request with this Idempotency-Key is still in progress; retry shortly',
    { reason: 'idempotency_key_in_progress', field: 'Idempotency-Key', retryable: true },
    { retryAfterSeconds: 1 },
  );

/**
 * Runs `operation` at most once per idempotency record: the first request claims the record with a
 * lease (compare-and-set, so two racing requests cannot both run), its outcome is kept for `ttlMs`, and
 * a repeat with the same fingerprint gets the stored bytes back. Another fingerprint is a 409. A lease
 * left behind by a crashed request is taken over once it expires.
 */
export async function idempotentRequest(
  store: { documents: DocumentStore; clock: Clock },
  policy: IdempotencyPolicy,
  operation: () => Promise<StoredResponse>,
): Promise<IdempotentOutcome> {
  const now = store.clock.now().getTime();
  const existing = await store.documents.getVersioned<IdempotencyRecord>(policy.recordPath);
  const record = existing?.data;
  const live =
    record &&
    (record.state === 'completed' ? (record.expires_at_ms ?? 0) > now : record.lease_expires_at_ms > now);
  if (live) {
    if (record.request_fingerprint !== policy.fingerprint)
      throw conflict(
        'this Idempotency-Key was already used with a different request; fix the payload and retry with a fresh key',
        { reason: 'idempotency_key_reused', field: 'Idempotency-Key' },
      );
    if (record.state === 'in_progress') throw inProgress();
    return {
      response: {
        status: record.status_code!,
        body: record.response_body!,
        headers: record.response_headers ?? {},
      },
      replayed: true,
    };
  }
  const claim: IdempotencyRecord = {
    ...policy.describe,
    state: 'in_progress',
    request_fingerprint: policy.fingerprint,
    lease_expires_at_ms: now + policy.leaseMs,
    correlation_id: policy.correlationId,
    created_at: new Date(now).toISOString(),
  };
  const claimed = await store.documents.compareAndSet(policy.recordPath, claim, existing?.version ?? null);
  if (claimed.status !== 'written') throw inProgress();

  let response: StoredResponse;
  try {
    response = await operation();
  } catch (error) {
    if (!(error instanceof ArcoError) || !policy.keepsError(error)) {
      await store.documents.delete(policy.recordPath).catch(() => {});
      throw error;
    }
    response = policy.errorResponse(error);
  }
  const completedAt = store.clock.now().getTime();
  await store.documents.set(policy.recordPath, {
    ...claim,
    state: 'completed',
    status_code: response.status,
    response_body: response.body,
    response_headers: response.headers,
    completed_at: new Date(completedAt).toISOString(),
    expires_at: new Date(completedAt + policy.ttlMs),
    expires_at_ms: completedAt + policy.ttlMs,
  });
  return { response, replayed: false };
}
