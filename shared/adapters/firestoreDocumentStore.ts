import { Firestore, type Query, Timestamp, type Transaction } from '@google-cloud/firestore';
import type {
  CompareAndSetResult,
  CreateResult,
  DocumentSnapshot,
  DocumentStore,
  DocumentTransaction,
  QueryOptions,
  VersionedDocument,
} from './documentStore.ts';
import { firestoreDocuments, storageOperations } from '../observability/metrics.ts';

const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const NOT_FOUND = 5;

/** Firestore behind DocumentStore. Locally the client follows FIRESTORE_EMULATOR_HOST. */
export class FirestoreDocumentStore implements DocumentStore {
  constructor(readonly firestore: Firestore = new Firestore({ ignoreUndefinedProperties: true })) {}

  async get<T>(path: string): Promise<DocumentSnapshot<T> | null> {
    storageOperations.inc({ store: 'firestore', operation: 'get' });
    firestoreDocuments.inc({ kind: 'read' });
    const snapshot = await this.firestore.doc(path).get();
    return snapshot.exists ? { path, data: snapshot.data() as T } : null;
  }

  async getMany<T>(paths: string[]): Promise<Array<DocumentSnapshot<T> | null>> {
    storageOperations.inc({ store: 'firestore', operation: 'getMany' });
    firestoreDocuments.inc({ kind: 'read' }, paths.length);
    if (!paths.length) return [];
    const snapshots = await this.firestore.getAll(...paths.map((path) => this.firestore.doc(path)));
    return snapshots.map((snapshot, i) =>
      snapshot.exists ? { path: paths[i]!, data: snapshot.data() as T } : null,
    );
  }

  async create(path: string, data: object): Promise<CreateResult> {
    storageOperations.inc({ store: 'firestore', operation: 'create' });
    firestoreDocuments.inc({ kind: 'write' });
    try {
      await this.firestore.doc(path).create(data);
      return { status: 'created' };
    } catch (error) {
      if ((error as { code?: number }).code === ALREADY_EXISTS) return { status: 'already_exists' };
      throw error;
    }
  }

  async getVersioned<T>(path: string): Promise<VersionedDocument<T> | null> {
    storageOperations.inc({ store: 'firestore', operation: 'getVersioned' });
    firestoreDocuments.inc({ kind: 'read' });
    const snapshot = await this.firestore.doc(path).get();
    if (!snapshot.exists) return null;
    const time = snapshot.updateTime!;
    return {
      data: snapshot.data() as T,
      version: `${time.seconds}.${String(time.nanoseconds).padStart(9, '0')}`,
    };
  }

  async compareAndSet(
    path: string,
    data: object,
    expectedVersion: string | null,
  ): Promise<CompareAndSetResult> {
    storageOperations.inc({ store: 'firestore', operation: 'compareAndSet' });
    if (expectedVersion === null) {
      const created = await this.create(path, data);
      return created.status === 'created' ? { status: 'written' } : { status: 'precondition_failed' };
    }
    const [seconds, nanos] = expectedVersion.split('.').map(Number);
    firestoreDocuments.inc({ kind: 'write' });
    try {
      // update() writes every field named here, which is the whole document for our fixed shapes.
      await this.firestore.doc(path).update({ ...data }, { lastUpdateTime: new Timestamp(seconds!, nanos!) });
      return { status: 'written' };
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === FAILED_PRECONDITION || code === NOT_FOUND) return { status: 'precondition_failed' };
      throw error;
    }
  }

  async set(path: string, data: object): Promise<void> {
    storageOperations.inc({ store: 'firestore', operation: 'set' });
    firestoreDocuments.inc({ kind: 'write' });
    await this.firestore.doc(path).set(data);
  }

  async setMany(entries: Array<{ path: string; data: object }>): Promise<void> {
    storageOperations.inc({ store: 'firestore', operation: 'setMany' });
    firestoreDocuments.inc({ kind: 'write' }, entries.length);
    if (!entries.length) return;
    const batch = this.firestore.batch();
    for (const { path, data } of entries) batch.set(this.firestore.doc(path), data);
    await batch.commit();
  }

  async delete(path: string): Promise<void> {
    storageOperations.inc({ store: 'firestore', operation: 'delete' });
    firestoreDocuments.inc({ kind: 'delete' });
    await this.firestore.doc(path).delete();
  }

  async deleteMany(paths: string[]): Promise<void> {
    storageOperations.inc({ store: 'firestore', operation: 'deleteMany' });
    firestoreDocuments.inc({ kind: 'delete' }, paths.length);
    // A write batch takes at most 500 writes.
    for (let i = 0; i < paths.length; i += 500) {
      const batch = this.firestore.batch();
      for (const path of paths.slice(i, i + 500)) batch.delete(this.firestore.doc(path));
      await batch.commit();
    }
  }

  async runTransaction<R>(fn: (tx: DocumentTransaction) => Promise<R>): Promise<R> {
    storageOperations.inc({ store: 'firestore', operation: 'runTransaction' });
    try {
      return await this.transaction(fn);
    } catch (error) {
      throw transactionGaveUp(error) ?? error;
    }
  }

  private transaction<R>(fn: (tx: DocumentTransaction) => Promise<R>): Promise<R> {
    return this.firestore.runTransaction((transaction: Transaction) => {
      const tx: DocumentTransaction = {
        get: async <T>(path: string) => {
          firestoreDocuments.inc({ kind: 'read' });
          const snapshot = await transaction.get(this.firestore.doc(path));
          return snapshot.exists ? { path, data: snapshot.data() as T } : null;
        },
        getMany: async <T>(paths: string[]) => {
          if (!paths.length) return [];
          firestoreDocuments.inc({ kind: 'read' }, paths.length);
          const snapshots = await transaction.getAll(...paths.map((path) => this.firestore.doc(path)));
          return snapshots.map((snapshot, i) =>
            snapshot.exists ? { path: paths[i]!, data: snapshot.data() as T } : null,
          );
        },
        create: (path, data) => {
          firestoreDocuments.inc({ kind: 'write' });
          transaction.create(this.firestore.doc(path), data);
        },
        set: (path, data) => {
          firestoreDocuments.inc({ kind: 'write' });
          transaction.set(this.firestore.doc(path), data);
        },
        delete: (path) => {
          firestoreDocuments.inc({ kind: 'delete' });
          transaction.delete(this.firestore.doc(path));
        },
      };
      return fn(tx);
    });
  }

  private buildQuery(collectionPath: string, options: QueryOptions): Query {
    let query: Query = options.group
      ? this.firestore.collectionGroup(collectionPath)
      : this.firestore.collection(collectionPath);
    for (const [field, op, value] of options.where ?? []) query = query.where(field, op, value);
    for (const [field, direction] of options.orderBy ?? []) query = query.orderBy(field, direction);
    if (options.offset) query = query.offset(options.offset);
    if (options.limit) query = query.limit(options.limit);
    if (options.fields) query = query.select(...options.fields);
    return query;
  }

  async query<T>(collectionPath: string, options: QueryOptions = {}): Promise<Array<DocumentSnapshot<T>>> {
    storageOperations.inc({ store: 'firestore', operation: 'query' });
    const snapshot = await this.buildQuery(collectionPath, options).get();
    firestoreDocuments.inc({ kind: 'read' }, Math.max(1, snapshot.size + (options.offset ?? 0)));
    return snapshot.docs.map((doc) => ({ path: doc.ref.path, data: doc.data() as T }));
  }

  async count(collectionPath: string, options: Pick<QueryOptions, 'where' | 'group'> = {}): Promise<number> {
    storageOperations.inc({ store: 'firestore', operation: 'count' });
    const snapshot = await this.buildQuery(collectionPath, options).count().get();
    firestoreDocuments.inc({ kind: 'read' }, Math.max(1, Math.ceil(snapshot.data().count / 1000)));
    return snapshot.data().count;
  }
}

/**
 * The errors on which the Firestore client retries a transaction (its `isRetryableTransactionError`,
 * 7.x/8.x: contention, a lost or expired transaction, transient server states), so one of them out of
 * `runTransaction` means its attempts ran out under contention. Such an error is given gRPC code 10
 * (ABORTED), which callers read as "retry later" (shared/http/transientBackendError.ts answers 503),
 * whatever code the last attempt happened to end with (UNKNOWN, INTERNAL, an expired transaction's
 * INVALID_ARGUMENT).
 */
export function transactionGaveUp(error: unknown): Error | null {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const retried =
    [10, 409, 1, 2, 4, 13, 14, 16, 8].includes(code as number) ||
    (code === 3 && /transaction has expired/.test(String(message)));
  if (!retried) return null;
  return Object.assign(
    new Error(`transaction gave up after its retries: ${String(message)}`, { cause: error }),
    {
      code: 10,
    },
  );
}
