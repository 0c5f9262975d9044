/**
 * Document storage as Arco uses it: point reads, create-if-absent, and transactions for every
 * read-modify-write (Firestore settles the race). Losing a create is a typed result.
 */
export interface DocumentSnapshot<T> {
  path: string;
  data: T;
}

export type CreateResult = { status: 'created' } | { status: 'already_exists' };

export interface DocumentTransaction {
  get<T>(path: string): Promise<DocumentSnapshot<T> | null>;
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
}

export interface DocumentStore {
  get<T>(path: string): Promise<DocumentSnapshot<T> | null>;
  create(path: string, data: object): Promise<CreateResult>;
  set(path: string, data: object): Promise<void>;
  delete(path: string): Promise<void>;
  runTransaction<R>(fn: (tx: DocumentTransaction) => Promise<R>): Promise<R>;
  query<T>(collectionPath: string, options?: QueryOptions): Promise<Array<DocumentSnapshot<T>>>;
  count(collectionPath: string, options?: Pick<QueryOptions, 'where'>): Promise<number>;
}
