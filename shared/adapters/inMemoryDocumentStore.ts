import type {
  CompareAndSetResult,
  CreateResult,
  DocumentSnapshot,
  DocumentStore,
  DocumentTransaction,
  QueryOptions,
  VersionedDocument,
  WhereClause,
} from './documentStore.ts';

/** gRPC status codes FirestoreDocumentStore's client reports; the in-memory errors carry the same. */
const ABORTED = 10;
const ALREADY_EXISTS = 6;

/** Firestore's default (`DEFAULT_MAX_TRANSACTION_ATTEMPTS` in @google-cloud/firestore). */
const MAX_TRANSACTION_ATTEMPTS = 5;

/**
 * Firestore's limit on the values of one `in` filter
 * (https://firebase.google.com/docs/firestore/query-data/queries#limits_on_or_queries).
 */
const MAX_IN_VALUES = 30;

/** The client library's own wording, so tests can match the same message against either store. */
const READ_AFTER_WRITE = 'Firestore transactions require all reads to be executed before all writes.';
const OVERLAPPING_READS =
  'a transaction read started while another was in flight: read several documents with one getMany (the Firestore emulator does not serialize concurrent reads of one transaction)';

/**
 * A transaction attempt lost to contention: a document it read changed before it committed. Carries
 * Firestore's `ABORTED` code (10), which `runTransaction` retries, as the Firestore client does; it
 * reaches the caller only when every attempt lost.
 */
export class InMemoryTransactionAbortedError extends Error {
  readonly code = ABORTED;

  constructor(path: string) {
    super(`10 ABORTED: transaction lost to contention on ${path}`);
    this.name = 'InMemoryTransactionAbortedError';
  }
}

/**
 * A transaction's `create` of a document that already exists, which fails its commit with Firestore's
 * `ALREADY_EXISTS` code (6) and is not retried (FirestoreDocumentStore lets the client's error through).
 */
export class InMemoryAlreadyExistsError extends Error {
  readonly code = ALREADY_EXISTS;

  constructor(path: string) {
    super(`6 ALREADY_EXISTS: Document already exists: ${path}`);
    this.name = 'InMemoryAlreadyExistsError';
  }
}

type Fields = Record<string, unknown>;

interface StoredDocument {
  fields: Fields;
  /** Commit time in microseconds since the epoch, unique per commit across the store. */
  updateMicros: number;
}

type Write =
  | { kind: 'create'; path: string; fields: Fields }
  | { kind: 'set'; path: string; fields: Fields }
  | { kind: 'delete'; path: string };

/**
 * DocumentStore in process memory with the semantics FirestoreDocumentStore gets from Firestore
 * (https://firebase.google.com/docs/firestore), for tests that should not need the emulator:
 *
 * - Paths are slash-separated, non-empty segments; a document path has an even number of them and a
 *   collection path an odd number, anything else throws (synchronously in transactions, as the client's
 *   `doc()` does). Query results name documents by their full path.
 * - `set` replaces the whole document; `create` refuses an existing one (`already_exists`); `delete` of an
 *   absent document succeeds. `compareAndSet` with a version is Firestore's `update` with a
 *   `lastUpdateTime` precondition: the document must exist at that version, and the fields named (dotted
 *   keys are field paths) replace theirs while the others stay.
 * - A version is the document's update time, `seconds.nanoseconds` (nine digits), as FirestoreDocumentStore
 *   formats it; every commit gets a time later than the last, shared by all writes of a transaction.
 * - Values follow Firestore's value model with `ignoreUndefinedProperties`: `undefined` properties and
 *   array elements are dropped, a bigint is read back as a number, bytes as a Buffer, and a Map or an
 *   object with a custom prototype is refused as the client refuses it. A Date is refused too:
 *   Firestore would hand back a Timestamp, which this store does not model. Data is deep-copied on the way
 *   in and out.
 * - `runTransaction` is serializable: every read is validated again at commit (and before each further
 *   read, so the callback never sees an inconsistent view); on a conflict the attempt is discarded and
 *   the callback runs again after a short jittered backoff, at most 5 attempts in all, after which the
 *   InMemoryTransactionAbortedError is thrown. Reads after writes are refused, as the client refuses
 *   them, and so is a read started while another of the same attempt is in flight (use `getMany`),
 *   which the Firestore emulator mishandles. Errors the callback throws are retried only if they carry a code the Firestore client retries
 *   (e.g. ABORTED), else passed through. (Firestore settles contention with locks rather than by
 *   validation; either way the committed transactions have one serial order.)
 * - `query` supports ==, <, <=, >, >= and `in` on (dotted) field paths, `orderBy`, `offset`, `limit` and
 *   collection-group queries (`group: true`: every collection with that id at any depth). As in Firestore, a
 *   filter or an `orderBy` excludes documents lacking the field, a range filter matches only values of the
 *   filter value's type, values of different types order null < boolean < number < string < bytes <
 *   array < map, strings order by UTF-8 bytes, and results are ordered by the explicit `orderBy`, then by
 *   the inequality-filtered fields, then by document path (ties in the direction of the last `orderBy`).
 *   Composite indexes are not required (the emulator does not require them either).
 */
export class InMemoryDocumentStore implements DocumentStore {
  private readonly documents = new Map<string, StoredDocument>();
  private lastCommitMicros = 0;

  /** Every document path currently stored, sorted (a test convenience; not part of DocumentStore). */
  paths(): string[] {
    return [...this.documents.keys()].sort();
  }

  async get<T>(path: string): Promise<DocumentSnapshot<T> | null> {
    documentSegments(path);
    await settle();
    const stored = this.documents.get(path);
    return stored ? { path, data: copyOut(stored.fields) as T } : null;
  }

  async create(path: string, data: object): Promise<CreateResult> {
    documentSegments(path);
    const fields = copyIn(data);
    await settle();
    if (this.documents.has(path)) return { status: 'already_exists' };
    this.commit([{ kind: 'create', path, fields }]);
    return { status: 'created' };
  }

  async set(path: string, data: object): Promise<void> {
    documentSegments(path);
    const fields = copyIn(data);
    await settle();
    this.commit([{ kind: 'set', path, fields }]);
  }

  async setMany(entries: Array<{ path: string; data: object }>): Promise<void> {
    for (const { path } of entries) documentSegments(path);
    const writes = entries.map(({ path, data }) => ({ kind: 'set' as const, path, fields: copyIn(data) }));
    await settle();
    if (writes.length) this.commit(writes);
  }

  async delete(path: string): Promise<void> {
    documentSegments(path);
    await settle();
    this.commit([{ kind: 'delete', path }]);
  }

  async deleteMany(paths: string[]): Promise<void> {
    for (const path of paths) documentSegments(path);
    await settle();
    if (paths.length) this.commit(paths.map((path) => ({ kind: 'delete', path })));
  }

  async getMany<T>(paths: string[]): Promise<Array<DocumentSnapshot<T> | null>> {
    for (const path of paths) documentSegments(path);
    await settle();
    return paths.map((path) => {
      const stored = this.documents.get(path);
      return stored ? { path, data: copyOut(stored.fields) as T } : null;
    });
  }

  async getVersioned<T>(path: string): Promise<VersionedDocument<T> | null> {
    documentSegments(path);
    await settle();
    const stored = this.documents.get(path);
    return stored ? { data: copyOut(stored.fields) as T, version: formatVersion(stored.updateMicros) } : null;
  }

  async compareAndSet(
    path: string,
    data: object,
    expectedVersion: string | null,
  ): Promise<CompareAndSetResult> {
    if (expectedVersion === null) {
      const created = await this.create(path, data);
      return created.status === 'created' ? { status: 'written' } : { status: 'precondition_failed' };
    }
    documentSegments(path);
    const expectedMicros = parseVersion(expectedVersion);
    const updates = copyIn(data);
    await settle();
    const stored = this.documents.get(path);
    if (!stored || stored.updateMicros !== expectedMicros) return { status: 'precondition_failed' };
    const fields = copyOut(stored.fields) as Fields;
    for (const [key, value] of Object.entries(updates)) setField(fields, key.split('.'), value);
    this.commit([{ kind: 'set', path, fields }]);
    return { status: 'written' };
  }

  async runTransaction<R>(fn: (tx: DocumentTransaction) => Promise<R>): Promise<R> {
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_TRANSACTION_ATTEMPTS; attempt += 1) {
      // Contending attempts back off by random amounts so one of them gets through, as with Firestore.
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** attempt));
      const reads = new Map<string, number | null>();
      const writes: Write[] = [];
      const validateReads = () => {
        for (const [path, micros] of reads)
          if ((this.documents.get(path)?.updateMicros ?? null) !== micros)
            throw new InMemoryTransactionAbortedError(path);
      };
      let reading = false;
      const read = async <T>(paths: string[]) => {
        if (writes.length) throw new Error(READ_AFTER_WRITE);
        if (reading) throw new Error(OVERLAPPING_READS);
        paths.forEach(documentSegments);
        reading = true;
        await settle().finally(() => (reading = false));
        validateReads();
        return paths.map((path) => {
          const stored = this.documents.get(path);
          if (!reads.has(path)) reads.set(path, stored?.updateMicros ?? null);
          return stored ? { path, data: copyOut(stored.fields) as T } : null;
        });
      };
      const tx: DocumentTransaction = {
        get: async <T>(path: string) => (await read<T>([path]))[0] ?? null,
        getMany: read,
        create: (path, data) => {
          documentSegments(path);
          writes.push({ kind: 'create', path, fields: copyIn(data) });
        },
        set: (path, data) => {
          documentSegments(path);
          writes.push({ kind: 'set', path, fields: copyIn(data) });
        },
        delete: (path) => {
          documentSegments(path);
          writes.push({ kind: 'delete', path });
        },
      };
      try {
        const result = await fn(tx);
        validateReads();
        if (writes.length) this.commit(writes);
        return result;
      } catch (error) {
        lastError = error;
        if (!isRetryableTransactionError(error)) throw error;
      }
    }
    throw lastError;
  }

  async query<T>(collectionPath: string, options: QueryOptions = {}): Promise<Array<DocumentSnapshot<T>>> {
    await settle();
    const matches = this.select(collectionPath, options);
    const ordering = orderingOf(options);
    const sorted = matches
      .filter(([, fields]) => ordering.fields.every(([field]) => getField(fields, field) !== undefined))
      .sort(([pathA, a], [pathB, b]) => {
        for (const [field, direction] of ordering.fields) {
          const order = compareValues(getField(a, field), getField(b, field));
          if (order) return direction === 'desc' ? -order : order;
        }
        const order = comparePaths(pathA, pathB);
        return ordering.nameDirection === 'desc' ? -order : order;
      });
    const start = options.offset || 0;
    const page = options.limit ? sorted.slice(start, start + options.limit) : sorted.slice(start);
    const projected = (fields: Record<string, unknown>) =>
      options.fields
        ? Object.fromEntries(options.fields.filter((f) => f in fields).map((f) => [f, fields[f]]))
        : fields;
    return page.map(([path, fields]) => ({ path, data: copyOut(projected(fields)) as T }));
  }

  async count(collectionPath: string, options: Pick<QueryOptions, 'where' | 'group'> = {}): Promise<number> {
    await settle();
    return this.select(collectionPath, options).length;
  }

  /** The documents of the collection (or group) that pass every filter, unordered. */
  private select(
    collectionPath: string,
    options: Pick<QueryOptions, 'where' | 'group'>,
  ): Array<[string, Fields]> {
    const filters = (options.where ?? []).map(validateFilter);
    const inCollection = collectionMatcher(collectionPath, options.group ?? false);
    const matches: Array<[string, Fields]> = [];
    for (const [path, stored] of this.documents)
      if (inCollection(path) && filters.every((filter) => filter(stored.fields)))
        matches.push([path, stored.fields]);
    return matches;
  }

  /** Applies the writes of one commit atomically, or none of them (a create of an existing document). */
  private commit(writes: Write[]): void {
    const exists = (path: string) => this.documents.has(path);
    const staged = new Map<string, boolean>();
    for (const write of writes) {
      const present = staged.get(write.path) ?? exists(write.path);
      if (write.kind === 'create' && present) throw new InMemoryAlreadyExistsError(write.path);
      staged.set(write.path, write.kind !== 'delete');
    }
    this.lastCommitMicros = Math.max(this.lastCommitMicros + 1, Date.now() * 1000);
    for (const write of writes) {
      if (write.kind === 'delete') this.documents.delete(write.path);
      else this.documents.set(write.path, { fields: write.fields, updateMicros: this.lastCommitMicros });
    }
  }
}

/** Yields once, so concurrent callers interleave between operations as separate requests would. */
const settle = () => Promise.resolve();

function segmentsOf(path: string, what: string): string[] {
  const segments = path.split('/');
  if (!path || segments.some((segment) => segment === ''))
    throw new Error(`Value for argument "${what}" is not a valid resource path: ${JSON.stringify(path)}`);
  return segments;
}

function documentSegments(path: string): string[] {
  const segments = segmentsOf(path, 'documentPath');
  if (segments.length % 2 !== 0)
    throw new Error(
      `Value for argument "documentPath" must point to a document, but was "${path}". Your path does not contain an even number of components.`,
    );
  return segments;
}

function collectionMatcher(collectionPath: string, group: boolean): (documentPath: string) => boolean {
  if (group) {
    if (!collectionPath || collectionPath.includes('/'))
      throw new Error(`Invalid collectionId '${collectionPath}'. Collection IDs must not contain '/'.`);
    return (path) => {
      const segments = path.split('/');
      return segments[segments.length - 2] === collectionPath;
    };
  }
  if (segmentsOf(collectionPath, 'collectionPath').length % 2 !== 1)
    throw new Error(
      `Value for argument "collectionPath" must point to a collection, but was "${collectionPath}". Your path does not contain an odd number of components.`,
    );
  return (path) => path.slice(0, path.lastIndexOf('/')) === collectionPath;
}

function formatVersion(micros: number): string {
  const seconds = Math.floor(micros / 1_000_000);
  return `${seconds}.${String((micros % 1_000_000) * 1000).padStart(9, '0')}`;
}

/** The commit time a version names; as FirestoreDocumentStore builds a Timestamp from it, junk throws. */
function parseVersion(version: string): number {
  const [seconds, nanos] = version.split('.').map(Number);
  if (!Number.isInteger(seconds) || !Number.isInteger(nanos) || nanos! < 0 || nanos! > 999_999_999)
    throw new Error(`not a document version: ${JSON.stringify(version)}`);
  return seconds! * 1_000_000 + Math.floor(nanos! / 1000);
}

const NOT_A_DOCUMENT = 'Value for argument "data" is not a valid Firestore document.';

const isPlainObject = (value: object) => {
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === Object.prototype || prototype === null || value.constructor?.name === 'Object';
};

/** A document's data as Firestore would store it (see the class: its value model), deep-copied. */
function copyIn(data: object): Fields {
  if (typeof data !== 'object' || data === null || Array.isArray(data) || !isPlainObject(data))
    throw new Error(`${NOT_A_DOCUMENT} Input is not a plain JavaScript object.`);
  return (copyValue(data, '') ?? {}) as Fields;
}

/** Undefined when Firestore would omit the value (an `undefined`, or a map whose fields all were). */
function copyValue(value: unknown, at: string): unknown {
  if (value === undefined) return undefined;
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number')
    return value;
  if (typeof value === 'bigint') return Number(value);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value);
  if (value instanceof Date)
    throw new Error(
      `in-memory document store: a Date at "${at}" would come back from Firestore as a Timestamp, which this store does not model; store an ISO string or epoch number`,
    );
  if (Array.isArray(value))
    return value.map((item, i) => copyValue(item, `${at}.${i}`)).filter((item) => item !== undefined);
  const field = at ? ` (found in field "${at.slice(1)}")` : '';
  if (typeof value !== 'object' || !isPlainObject(value)) {
    const type = (value as { constructor?: { name?: string } }).constructor?.name;
    // The client's two refusals: a Map (and anything not an object) vs. an instance of a class.
    throw new Error(
      value instanceof Map || typeof value !== 'object' || !type
        ? `${NOT_A_DOCUMENT} Input is not a plain JavaScript object${field}.`
        : `${NOT_A_DOCUMENT} Couldn't serialize object of type "${type}"${field}. Firestore doesn't support JavaScript objects with custom prototypes (i.e. objects that were created via the "new" operator).`,
    );
  }
  const entries = Object.entries(value);
  const copy: Fields = {};
  for (const [key, item] of entries) {
    const copied = copyValue(item, `${at}.${key}`);
    if (copied !== undefined) copy[key] = copied;
  }
  // The client omits a non-empty map all of whose fields were undefined.
  return entries.length > 0 && Object.keys(copy).length === 0 ? undefined : copy;
}

/** A stored value handed out: a fresh deep copy the caller may mutate. */
function copyOut(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(copyOut);
  const copy: Fields = {};
  for (const [key, item] of Object.entries(value)) copy[key] = copyOut(item);
  return copy;
}

function getField(fields: Fields, path: string): unknown {
  let current: unknown = fields;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || Buffer.isBuffer(current))
      return undefined;
    current = (current as Fields)[segment];
  }
  return current;
}

/** Sets a (split) field path, replacing any non-map on the way, as Firestore's update does. */
function setField(fields: Fields, path: string[], value: unknown): void {
  let current = fields;
  for (const segment of path.slice(0, -1)) {
    const next = current[segment];
    if (next === null || typeof next !== 'object' || Array.isArray(next) || Buffer.isBuffer(next))
      current[segment] = {};
    current = current[segment] as Fields;
  }
  current[path.at(-1)!] = value;
}

/** Firestore's order of value types: https://firebase.google.com/docs/firestore/manage-data/data-types */
function typeRank(value: unknown): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return 1;
  if (typeof value === 'number') return 2;
  if (typeof value === 'string') return 4;
  if (Buffer.isBuffer(value)) return 5;
  if (Array.isArray(value)) return 8;
  return 9;
}

const compareStrings = (a: string, b: string) =>
  Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Firestore's total order of values: by type, then within the type (NaN before every other number). */
function compareValues(a: unknown, b: unknown): number {
  const rank = typeRank(a) - typeRank(b);
  if (rank) return Math.sign(rank);
  if (typeof a === 'boolean') return Number(a) - Number(b as boolean);
  if (typeof a === 'number') {
    const x = a;
    const y = b as number;
    if (Number.isNaN(x) || Number.isNaN(y)) return Number(!Number.isNaN(x)) - Number(!Number.isNaN(y));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (Buffer.isBuffer(a)) return Buffer.compare(a, b as Buffer);
  if (Array.isArray(a)) {
    const other = b as unknown[];
    for (let i = 0; i < Math.min(a.length, other.length); i += 1) {
      const order = compareValues(a[i], other[i]);
      if (order) return order;
    }
    return Math.sign(a.length - other.length);
  }
  if (a === null) return 0;
  const keysA = Object.keys(a as Fields).sort(compareStrings);
  const keysB = Object.keys(b as Fields).sort(compareStrings);
  for (let i = 0; i < Math.min(keysA.length, keysB.length); i += 1) {
    const order =
      compareStrings(keysA[i]!, keysB[i]!) ||
      compareValues((a as Fields)[keysA[i]!], (b as Fields)[keysB[i]!]);
    if (order) return order;
  }
  return Math.sign(keysA.length - keysB.length);
}

/** Document names order segment by segment, so `a/x/b/1` comes before `a/x-y/b/0`. */
function comparePaths(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const order = compareStrings(x[i]!, y[i]!);
    if (order) return order;
  }
  return Math.sign(x.length - y.length);
}

/** A where clause as a predicate, refused where the Firestore client refuses it. */
function validateFilter([field, op, value]: WhereClause): (fields: Fields) => boolean {
  if (op === 'in') {
    if (!Array.isArray(value) || value.length === 0 || value.length > MAX_IN_VALUES)
      throw new Error(
        `Invalid Query. A non-empty array is required for 'in' filters, with at most ${MAX_IN_VALUES} values.`,
      );
    const candidates = value.map((v) => copyValue(v, ''));
    return (fields) => {
      const actual = getField(fields, field);
      return actual !== undefined && candidates.some((c) => compareValues(actual, c) === 0);
    };
  }
  const expected = copyValue(value, '');
  if (op !== '==' && (expected === null || (typeof expected === 'number' && Number.isNaN(expected))))
    throw new Error(`Invalid query. You can only perform '==' and '!=' comparisons on ${String(expected)}.`);
  return (fields) => {
    const actual = getField(fields, field);
    if (actual === undefined || typeRank(actual) !== typeRank(expected)) return false;
    const order = compareValues(actual, expected);
    switch (op) {
      case '==':
        return order === 0;
      case '<':
        return order < 0;
      case '<=':
        return order <= 0;
      case '>':
        return order > 0;
      case '>=':
        return order >= 0;
    }
  };
}

/**
 * Firestore's effective order: the explicit `orderBy`, then each inequality-filtered field not already
 * ordered (by field path), then the document name, the implicit ones in the last explicit direction.
 */
function orderingOf(options: QueryOptions): {
  fields: Array<[string, 'asc' | 'desc']>;
  nameDirection: 'asc' | 'desc';
} {
  const explicit = options.orderBy ?? [];
  const direction = explicit.at(-1)?.[1] ?? 'asc';
  const ordered = new Set(explicit.map(([field]) => field));
  const inequalities = [
    ...new Set(
      (options.where ?? [])
        .filter(([field, op]) => op !== '==' && op !== 'in' && !ordered.has(field))
        .map(([field]) => field),
    ),
  ].sort(compareStrings);
  return {
    fields: [...explicit, ...inequalities.map((field) => [field, direction] as [string, 'asc' | 'desc'])],
    nameDirection: direction,
  };
}

function isRetryableTransactionError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  // The codes the Firestore client retries a transaction on (isRetryableTransactionError, transaction.js).
  if ([1, 2, 4, 8, 10, 13, 14, 16, 409].includes(code as number)) return true;
  return code === 3 && typeof message === 'string' && /transaction has expired/.test(message);
}
