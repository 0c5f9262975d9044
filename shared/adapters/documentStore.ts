/**
 * Document storage as Arco uses it: point reads, create-if-absent, and transactions for every
 * read-modify-write (Firestore settles the race). Losing a create is a typed result.
 */
export interface DocumentSnapshot<T> {
  path: string;
  data: T;
}

/** A document with the version a compare-and-set must name (Firestore: its update time). */
export interface VersionedDocument<T> {
  data: T;
  version: string;
}

export type CompareAndSetResult = { status: 'written' } | { status: 'precondition_failed' };

export type CreateResult = { status: 'created' } | { status: 'already_exists' };

/**
 * One attempt of a read-write transaction. Reads come before writes. Read several documents with one
 * `getMany`, never with overlapping `get`s: Firestore allows concurrent reads on one transaction, but
 * its emulator does not serialize them and can fail one with INVALID_ARGUMENT "Transaction is invalid
 * or closed", which no client retries (firebase-tools#1624), so the in-memory store refuses them too.
 */
export interface DocumentTransaction {
  get<T>(path: string): Promise<DocumentSnapshot<T> | null>;
  /** Reads many documents in one round trip; the result follows `paths`, null where one does not exist. */
  getMany<T>(paths: string[]): Promise<Array<DocumentSnapshot<T> | null>>;
  create(path: string, data: object): void;
  set(path: string, data: object): void;
  delete(path: string): void;
}

export type WhereClause = [field: string, op: '==' | '<' | '<=' | '>' | '>=' | 'in', value: unknown];

export interface QueryOptions {
  where?: WhereClause[];
  orderBy?: Array<[field: string, direction: 'asc' | 'desc']>;
  limit?: number;
  offset?: number;
  /** Query every collection with this id, across parents (a Firestore collection-group query). */
  group?: boolean;
  /** Only these top-level fields of each document (a Firestore projection query); others are absent. */
  fields?: string[];
}

export interface DocumentStore {
  get<T>(path: string): Promise<DocumentSnapshot<T> | null>;
  /** Reads many documents in one round trip; the result follows `paths`, null where one does not exist. */
  getMany<T>(paths: string[]): Promise<Array<DocumentSnapshot<T> | null>>;
  create(path: string, data: object): Promise<CreateResult>;
  set(path: string, data: object): Promise<void>;
  /** Sets many documents in one atomic write (Firestore: one batch, at most 500 writes and 10 MB). */
  setMany(entries: Array<{ path: string; data: object }>): Promise<void>;
  delete(path: string): Promise<void>;
  /** Deletes many documents in as few round trips as the store allows (not atomic across batches). */
  deleteMany(paths: string[]): Promise<void>;
  getVersioned<T>(path: string): Promise<VersionedDocument<T> | null>;
  /**
   * Optimistic compare-and-set: writes only if the document is still at `expectedVersion` (null = must
   * not exist). Unlike a transaction it takes no locks, so contending writers fail fast and re-read.
   */
  compareAndSet(path: string, data: object, expectedVersion: string | null): Promise<CompareAndSetResult>;
  runTransaction<R>(fn: (tx: DocumentTransaction) => Promise<R>): Promise<R>;
  query<T>(collectionPath: string, options?: QueryOptions): Promise<Array<DocumentSnapshot<T>>>;
  count(collectionPath: string, options?: Pick<QueryOptions, 'where' | 'group'>): Promise<number>;
}
