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

export interface ListPage {
  keys: string[];
  prefixes: string[];
  nextPageToken?: string;
}

export interface ObjectStore {
  get(key: string): Promise<StoredObject | null>;
  head(key: string): Promise<ObjectInfo | null>;
  put(key: string, bytes: Buffer | string, options?: PutOptions): Promise<PutResult>;
  delete(key: string, options?: { ifGenerationMatch?: string | number }): Promise<DeleteResult>;
  /** Diagnostics and garbage collection only: no correctness path may list (spec README). */
  list(
    prefix: string,
    options?: { delimiter?: string; pageToken?: string; maxResults?: number },
  ): Promise<ListPage>;
}
