import {
  type DeleteResult,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  ObjectStoreRateLimitedError,
  type PutOptions,
  type PutResult,
  type StoredObject,
} from './objectStore.ts';

/**
 * Cloud Storage's per-object mutation limit as a token bucket per object name: `burst` mutations at
 * once, then `perSecond` (GCS: about 1/s, https://cloud.google.com/storage/quotas). The same model and
 * defaults as the local GCS stand-in's `ObjectRateLimit`, restated here because shared code must not
 * depend on `local/`.
 */
export interface InMemoryObjectRateLimit {
  perSecond: number;
  burst: number;
}

/** How an InMemoryObjectStore differs from a plain, unthrottled bucket; every option is optional. */
export interface InMemoryObjectStoreOptions {
  /**
   * The per-object mutation limit, or `false` (the default) for none. When on, a mutation without a
   * precondition that finds no token throws ObjectStoreRateLimitedError at once (`retried: false`), and a
   * preconditioned one waits for the name's next token if that fits in `retryBudgetMs`, else throws
   * (`retried: true` if it had waited already): what GcsObjectStore does against the stand-in, without
   * its jittered backoff.
   */
  rateLimit?: InMemoryObjectRateLimit | false;
  /** How long a preconditioned mutation may wait for a token, ms. Default 10 000, as GcsObjectStore. */
  retryBudgetMs?: number;
  /** Clock in ms for the rate limit. Default `Date.now`. */
  now?: () => number;
}

interface MemoryObject {
  bytes: Buffer;
  generation: number;
  contentType: string;
}

/**
 * ObjectStore in process memory with the semantics of the Cloud Storage JSON API that Arco relies on
 * (https://cloud.google.com/storage/docs/request-preconditions): every write gets a new generation
 * (a decimal string, strictly increasing across the store, as GCS's microsecond-based generations are),
 * `ifGenerationMatch: 0` means "only if absent", any other value "only if still at that generation", and a
 * failed precondition is the typed `precondition_failed` (GCS: 412). A delete of an absent object is
 * `not_found` even with a precondition (GCS answers 404 before it looks at preconditions). `list` orders
 * names by their UTF-8 bytes as GCS does, folds names into common prefixes at `delimiter`, and pages
 * with an opaque token.
 * A put without `contentType` stores `application/json`, GcsObjectStore's default.
 *
 * Bytes are copied on the way in and out, so a caller mutating a Buffer never changes what is stored.
 * Every operation yields at least once and then takes effect in one synchronous step, so concurrent
 * calls interleave between operations, never inside one, as separate HTTP requests to GCS do.
 */
export class InMemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, MemoryObject>();
  private lastGeneration = 0;
  private readonly limiter: MutationLimiter | undefined;
  private readonly retryBudgetMs: number;

  constructor(options: InMemoryObjectStoreOptions = {}) {
    if (options.rateLimit) this.limiter = new MutationLimiter(options.rateLimit, options.now ?? Date.now);
    this.retryBudgetMs = options.retryBudgetMs ?? 10_000;
  }

  /** Every object name currently stored, sorted (a test convenience; not part of ObjectStore). */
  keys(): string[] {
    return [...this.objects.keys()].sort(compareNames);
  }

  async get(key: string): Promise<StoredObject | null> {
    await settle();
    const object = this.objects.get(key);
    if (!object) return null;
    return {
      bytes: Buffer.from(object.bytes),
      generation: String(object.generation),
      contentType: object.contentType,
    };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    await settle();
    const object = this.objects.get(key);
    if (!object) return null;
    return {
      generation: String(object.generation),
      size: object.bytes.length,
      contentType: object.contentType,
    };
  }

  /**
   * Writes `bytes` under `key` with a new generation; with `ifGenerationMatch` only if the object is at
   * that generation (0: absent), else `precondition_failed`. Throws ObjectStoreRateLimitedError when the
   * rate limit is on and the name has no token left (see InMemoryObjectStoreOptions).
   */
  async put(key: string, bytes: Buffer | string, options: PutOptions = {}): Promise<PutResult> {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
    const conditional = options.ifGenerationMatch !== undefined;
    await this.permit(key, 'put', conditional);
    if (conditional && this.generationOf(key) !== Number(options.ifGenerationMatch))
      return { status: 'precondition_failed' };
    this.limiter?.spend(key);
    const generation = this.nextGeneration();
    this.objects.set(key, {
      bytes: data,
      generation,
      contentType: options.contentType ?? 'application/json',
    });
    return { status: 'written', generation: String(generation) };
  }

  /**
   * Deletes `key`: `not_found` when absent, `precondition_failed` when `ifGenerationMatch` names another
   * generation. Throws ObjectStoreRateLimitedError as put does.
   */
  async delete(key: string, options: { ifGenerationMatch?: string | number } = {}): Promise<DeleteResult> {
    const conditional = options.ifGenerationMatch !== undefined;
    await settle();
    // GCS looks the object up first: an absent one is 404 whatever the precondition or the rate.
    if (!this.objects.has(key)) return { status: 'not_found' };
    await this.permit(key, 'delete', conditional);
    const current = this.objects.get(key);
    if (!current) return { status: 'not_found' };
    if (conditional && current.generation !== Number(options.ifGenerationMatch))
      return { status: 'precondition_failed' };
    this.limiter?.spend(key);
    this.objects.delete(key);
    return { status: 'deleted' };
  }

  /**
   * One page of the names under `prefix` (at most `maxResults`, default and cap 1000, as GCS). With a
   * `delimiter`, names with the delimiter after the prefix are folded into `prefixes`; names and
   * prefixes share one ordered stream, so a page boundary never splits or repeats a prefix.
   */
  async list(
    prefix: string,
    options: { delimiter?: string; pageToken?: string; maxResults?: number } = {},
  ): Promise<ListPage> {
    await settle();
    const delimiter = options.delimiter ?? '';
    const maxResults = Math.min(options.maxResults || 1000, 1000);
    const after = options.pageToken ? Buffer.from(options.pageToken, 'base64url').toString('utf8') : '';
    const entries: Array<{ key: string; isPrefix: boolean }> = [];
    const seen = new Set<string>();
    for (const name of this.keys()) {
      if (!name.startsWith(prefix)) continue;
      const cut = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
      if (cut < 0) {
        entries.push({ key: name, isPrefix: false });
        continue;
      }
      const common = name.slice(0, cut + delimiter.length);
      if (!seen.has(common)) {
        seen.add(common);
        entries.push({ key: common, isPrefix: true });
      }
    }
    const remaining = entries.filter((e) => compareNames(e.key, after) > 0);
    const page = remaining.slice(0, maxResults);
    const last = page.at(-1);
    return {
      keys: page.filter((e) => !e.isPrefix).map((e) => e.key),
      prefixes: page.filter((e) => e.isPrefix).map((e) => e.key),
      ...(remaining.length > page.length && last
        ? { nextPageToken: Buffer.from(last.key).toString('base64url') }
        : {}),
    };
  }

  private generationOf(key: string): number {
    return this.objects.get(key)?.generation ?? 0;
  }

  /** Microseconds since the epoch, like GCS generations, but never repeated within the store. */
  private nextGeneration(): number {
    this.lastGeneration = Math.max(this.lastGeneration + 1, Date.now() * 1000);
    return this.lastGeneration;
  }

  /**
   * Resolves once `key` may be mutated: at once without a limit; for a preconditioned mutation after the
   * wait for the next token (if within the retry budget). Throws ObjectStoreRateLimitedError otherwise.
   * The token is spent by the caller only when the mutation happens: a 412 changes nothing, so costs nothing.
   */
  private async permit(key: string, operation: 'put' | 'delete', conditional: boolean): Promise<void> {
    await settle();
    if (!this.limiter) return;
    const started = Date.now();
    for (let waited = false; ; waited = true) {
      const wait = this.limiter.waitMs(key);
      if (wait === 0) return;
      if (!conditional || Date.now() - started + wait > this.retryBudgetMs)
        throw new ObjectStoreRateLimitedError(key, operation, waited);
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
    }
  }
}

/** Token buckets per object name (see InMemoryObjectRateLimit). */
class MutationLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: InMemoryObjectRateLimit,
    private readonly now: () => number,
  ) {}

  private tokens(key: string, now: number): number {
    const state = this.buckets.get(key);
    if (!state) return this.limit.burst;
    return Math.min(this.limit.burst, state.tokens + ((now - state.at) / 1000) * this.limit.perSecond);
  }

  /** 0 when `key` has a token now, else the ms until it has one. */
  waitMs(key: string): number {
    const tokens = this.tokens(key, this.now());
    return tokens >= 1 ? 0 : ((1 - tokens) / this.limit.perSecond) * 1000;
  }

  spend(key: string): void {
    const now = this.now();
    this.buckets.set(key, { tokens: this.tokens(key, now) - 1, at: now });
  }
}

/** Yields once, so concurrent callers interleave between operations as separate requests would. */
const settle = () => Promise.resolve();

/** GCS orders names by UTF-8 bytes; JS string order differs for characters beyond the BMP. */
const compareNames = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
