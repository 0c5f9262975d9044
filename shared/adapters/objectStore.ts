/**
 * Object storage as Arco uses it: known-key reads and writes settled by generation preconditions.
 * Losing a precondition is an expected outcome of a race, so it is a typed result, never an exception.
 */
export interface StoredObject {
  bytes: Buffer;
  /** GCS generation as a decimal string; opaque to callers other than for preconditions. */
  generation: string;
  contentType: string;
}

export interface ObjectInfo {
  generation: string;
  size: number;
  contentType: string;
}

export interface PutOptions {
  /** "0" (or 0) = create-only; any other generation = compare-and-swap. */
  ifGenerationMatch?: string | number;
  contentType?: string;
}

export type PutResult = { status: 'written'; generation: string } | { status: 'precondition_failed' };

export type DeleteResult =
  { status: 'deleted' } | { status: 'not_found' } | { status: 'precondition_failed' };

/**
 * A write refused by Cloud Storage's per-object mutation limit (HTTP 429 `rateLimitExceeded`: about one
 * create, overwrite or delete per second per object name, https://cloud.google.com/storage/quotas) and
 * not retried further. Nothing was written. A write without a precondition is never retried (it is not
 * idempotent, https://cloud.google.com/storage/docs/retry-strategy); a preconditioned one is retried with
 * backoff until its retry budget runs out (`retried: true`). Unlike a lost precondition this is not an
 * expected race outcome but a caller writing one name too often, so it is thrown, with `code` for
 * callers that map it (e.g. to 503 with Retry-After).
 */
export class ObjectStoreRateLimitedError extends Error {
  readonly code = 'rate_limited' as const;

  constructor(
    readonly key: string,
    readonly operation: 'put' | 'delete',
    readonly retried: boolean,
    options?: { cause?: unknown },
  ) {
    super(
      `object ${key}: ${operation} refused by the per-object mutation rate limit (429)${retried ? ' after retries' : ''}`,
      options,
    );
    this.name = 'ObjectStoreRateLimitedError';
  }
}

export interface ListPage {
  keys: string[];
  prefixes: string[];
  nextPageToken?: string;
}

export interface ObjectStore {
  get(key: string): Promise<StoredObject | null>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Throws ObjectStoreRateLimitedError when the object name is written too often (see there). */
  put(key: string, bytes: Buffer | string, options?: PutOptions): Promise<PutResult>;
  /** Throws ObjectStoreRateLimitedError when the object name is written too often (see there). */
  delete(key: string, options?: { ifGenerationMatch?: string | number }): Promise<DeleteResult>;
  /** Diagnostics and garbage collection only: no correctness path may list (spec README). */
  list(
    prefix: string,
    options?: { delimiter?: string; pageToken?: string; maxResults?: number },
  ): Promise<ListPage>;
}
