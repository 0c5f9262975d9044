import { encodeTime } from 'ulid';
import type { Clock } from '../../adapters/clock.ts';
import type { DocumentStore } from '../../adapters/documentStore.ts';
import type { IdGenerator } from '../../adapters/idGenerator.ts';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import type { Scope } from '../../auth/principal.ts';
import { canonicalJson } from '../../core/canonicalJson.ts';
import type { Failpoints } from '../../core/failpoints.ts';
import { sha256Hex } from '../../core/hashing.ts';
import { mapLimit } from '../../core/mapLimit.ts';
import type { Logger } from '../../observability/logger.ts';
import { CompactionLease } from './compactionLease.ts';
import { validateEnvelope } from './eventSchema.ts';
import {
  type EventData,
  eventIdFromLedgerPath,
  eventTimeMs,
  ledgerPath,
  type OrchestrationEvent,
} from './events.ts';
import { foldIntoDraft, IDEMPOTENCY_KEY_RETENTION_MS } from './evolve.ts';
import type { Ledger } from './ledger.ts';
import { pendingCollection } from './ledger.ts';
import {
  type Head,
  lacksRowSummaries,
  LISTING_VERSION,
  type Manifest,
  ProjectionStore,
  REBUILDS_PREFIX,
  unknownManifestVersion,
} from './projectionStore.ts';
import { type ArchiveLines, archiveLines, planArchives, shardOfId } from './shardArchives.ts';
import {
  type FoldState,
  IDEMPOTENCY_KEY_BUCKET_HOURS,
  type Row,
  shardOfRow,
  TABLES,
  type TableName,
  timeBucketOfShard,
} from './projectionTables.ts';
import { ArcoError } from '../../core/arcoError.ts';

/** What a compaction call answers (state spec B5 step 11). */
export interface CompactionResult {
  events_processed: number;
  manifest_id: string;
  manifest_revision: string;
  pointer_version: string;
  visibility_status: 'visible' | 'persisted_not_visible';
  repair_pending: false;
}

export class LeaseBusyError extends ArcoError {
  constructor() {
    super(
      'conflict',
      'another compaction of this workspace holds the lease; retry shortly',
      { reason: 'lease_busy' },
      { retryAfterSeconds: 1 },
    );
  }
}

/** A refusal that names what was wrong with the request; nothing was published. */
export class CompactionInputError extends ArcoError {}

/** A pending append batch: its id (the smallest event id) and its ledger paths. */
export interface PendingBatch {
  batchId: string;
  paths: string[];
  /** The events themselves (canonical JSON array), when the appender sent them along. */
  eventsJson?: string;
  /** When a scan began that listed the batch's pending record (`performance.now()`); absent for a hint. */
  listedAt?: number;
}

/**
 * What one fold changed, for the controllers that act on it: the rows' primary keys per table (a task
 * that became READY, a run that was cancelled…), never "every row of the run".
 */
export type FoldChanges = ReadonlyMap<TableName, ReadonlySet<string>>;

/** What a controller may do after a fold besides reading the state. */
export interface FoldEffects {
  /** Appends events (durable before it resolves); the compactor folds them at once. */
  append(events: EventData[]): Promise<void>;
  /**
   * Events that only record what already happened (a Cloud Task was created): `record` is called at
   * the next publish with the state then, and what it returns is appended and folded with that
   * publish, not in this cycle, so what the state has moved past meanwhile need not be written at all.
   * Losing them in a crash only repeats idempotent work.
   */
  defer(record: (state: FoldState) => EventData[]): void;
  /** Work off the dispatch path (manifest writes); the next publish waits for it to settle. */
  background(work: Promise<unknown>): void;
}

/**
 * A controller run after each fold on the compactor's warm state. What it appends is folded at once
 * and the controllers run again on what that changed, so a dependency hop needs no publish.
 */
export type AfterFold = (state: FoldState, changes: FoldChanges, effects: FoldEffects) => Promise<void>;

export interface CompactorDeps {
  objects: ObjectStore;
  documents: DocumentStore;
  clock: Clock;
  ids: IdGenerator;
  failpoints: Failpoints;
  log: Logger;
  scope: Scope;
  holderId?: string;
  /** Where the controllers' own events go (no hint: the compactor folds them itself). */
  ledger?: Ledger;
  afterFold?: AfterFold;
  /**
   * Rows the warm states of workspaces this process holds no lease for may add up to before the
   * least recently released go (`IDLE_WARM_ROWS` when absent).
   */
  idleWarmRows?: number;
  /** The most pending batches one scan lists (`MAX_SCAN_BATCHES` when absent). */
  maxScanBatches?: number;
}

/** Folded but not yet published: what the next publish writes and acknowledges. */
interface Unpublished {
  /** table → shards whose rows changed. */
  shards: Map<TableName, Set<string>>;
  events: Array<{ path: string; eventId: string; checksum: string; timeMs: number }>;
  /** Pending batch ids whose events are folded; their records are deleted after the publish. */
  batches: Set<string>;
  /** False while only heartbeats changed: those ride along with the next publish instead of causing one. */
  worthPublishing: boolean;
}

interface WarmState {
  head: Head;
  /** Every shard the head lists, its archives' included: table → shard id → artifact. */
  listed: Manifest['tables'];
  /** The ids `listed` holds for each shard (its slices): table → shard → ids, kept with `listed`. */
  listedIds: Map<TableName, Map<string, Set<string>>>;
  /** Deferred controller events, worked out and appended before the next publish. */
  deferred: Array<(state: FoldState) => EventData[]>;
  /** Work off the dispatch path, settled before the next publish. */
  background: Array<Promise<undefined>>;
  state: FoldState;
  /** table → shard → keys, so a touched shard is rebuilt from its own rows only. */
  shards: Map<TableName, Map<string, Set<string>>>;
  unpublished: Unpublished;
  /** Batches of the publish in flight: folded, not yet visible, and not to be folded again. */
  publishing: Set<string>;
  /** The hour (epoch hours) through which expired idempotency keys were pruned. */
  keysPrunedThroughHour: number;
  /**
   * False until a fold has taken in every pending batch. A state just loaded, or taken over from another
   * holder, may lack batches that holder folded and never published (its session failed); a hint folded
   * before them finds no run or task to change, so a worker's callback would be ignored for good and its
   * task never finish (the dispatch, folded again later, names a Cloud Task that exists already).
   */
  caughtUp: boolean;
}

const emptyUnpublished = (): Unpublished => ({
  shards: new Map(),
  events: [],
  batches: new Set(),
  worthPublishing: false,
});

/** One warm state per lease holder and workspace: valid while the pointer still names its manifest. */
const cache = new Map<string, WarmState>();
/** Batches published lately, so a hint delivered after its batch was folded by a scan is ignored. */
const recentlyPublished = new Map<string, Set<string>>();
const RECENT_BATCHES = 20_000;
/**
 * When each published batch's pending record was deleted by its publish (`performance.now()`;
 * Infinity while the delete runs). A scan that listed the record before that time saw it on its way
 * out and leaves it; only a record listed after its delete (the delete failed, or a retried append
 * wrote it again) is deleted again, so a busy workspace does not pay each delete twice.
 */
const recordDeletions = new Map<string, Map<string, number>>();

/**
 * The warm states kept while this process holds no lease for their workspace (after a session, or a
 * lease another instance held), least recently released first, with their rows. An instance that
 * serves many workspaces would otherwise keep every one it ever loaded. Dropping one, with its
 * workspace's record of recently published batches, does to it what a crash would, no more: its next
 * session loads the published state and folds what is pending again. A session ends once what it
 * folded is published; at most a late acknowledgement of a Cloud Task created can be left, and
 * without it the sweeper creates that named task again, which is harmless. The state released last
 * is always kept, however large, so one big workspace does not cold-start at every burst of work.
 */
const idleWarmRows = new Map<string, number>();
/**
 * About 130 MB of the compaction function's 1 GiB: a warm row takes about 650 bytes of heap (measured
 * on 20 runs of 500 planned tasks: 20 000 rows, 13 MB).
 */
const IDLE_WARM_ROWS = 200_000;

function keepIdle(key: string, budgetRows: number): void {
  idleWarmRows.delete(key);
  const warm = cache.get(key);
  if (!warm) return;
  idleWarmRows.set(
    key,
    TABLES.reduce((rows, table) => rows + warm.state[table].size, 0),
  );
  let total = [...idleWarmRows.values()].reduce((sum, rows) => sum + rows, 0);
  for (const [older, rows] of idleWarmRows) {
    if (total <= budgetRows || older === key) return;
    idleWarmRows.delete(older);
    cache.delete(older);
    recentlyPublished.delete(older);
    recordDeletions.delete(older);
    total -= rows;
  }
}

/** The ids a listing holds for each shard (its slices): table → shard → ids. */
function indexListing(listed: Manifest['tables']): WarmState['listedIds'] {
  const index = new Map<TableName, Map<string, Set<string>>>();
  for (const table of TABLES) {
    const byShard = new Map<string, Set<string>>();
    for (const id of Object.keys(listed[table] ?? {})) {
      const shard = shardOfId(id);
      if (!byShard.has(shard)) byShard.set(shard, new Set());
      byShard.get(shard)!.add(id);
    }
    index.set(table, byShard);
  }
  return index;
}

const PENDING_BATCHES_PER_SCAN = 500;
/** A scan lists at most this many batches (20 pages); what is left waits for the next scan. */
const MAX_SCAN_BATCHES = 10_000;
const MAX_CONTROLLER_ROUNDS = 8;
const HEARTBEAT_EVENT = 'task_heartbeat';

/**
 * The compactor (state spec B5–B7, B11): the single fenced writer of a workspace's projections. It
 * folds append batches into warm in-memory state, runs the controllers on what changed (they decide
 * dispatches from this state, not from published projections), and publishes separately: only the
 * shards touched since the last publish, an immutable manifest, and the pointer by compare-and-swap.
 * `drain` and `rebuild` are one-shot calls under their own lease; the workspace scheduler drives the
 * same steps on a cadence under a lease it keeps.
 */
export class Compactor {
  private readonly store: ProjectionStore;
  readonly lease: CompactionLease;
  private readonly cacheKey: string;
  /** Set while this instance holds the lease: nobody else can move the pointer, so the warm state is current. */
  private leased = false;
  private token = 0;

  constructor(private readonly deps: CompactorDeps) {
    this.store = new ProjectionStore(deps.objects);
    const holderId = deps.holderId ?? `compactor-${process.pid}-${deps.ids.next()}`;
    this.lease = new CompactionLease(deps.documents, deps.scope, deps.clock, holderId);
    // Warm state belongs to one lease holder: another holder in this process (tests run several sets
    // of dependencies) must never read or fold into it.
    this.cacheKey = `${holderId}/${deps.scope.tenant}/${deps.scope.workspace}`;
  }

  /** Folds every pending batch and publishes, until none are left or the budget is spent. */
  async drain(budgetMs = 5_000): Promise<CompactionResult> {
    return this.withLease(async (token) => {
      const deadline = this.deps.clock.now().getTime() + budgetMs;
      let total = 0;
      for (;;) {
        const batches = await this.pendingBatches(true);
        const events = await this.fold(batches);
        const result = await this.publish(token);
        total += events;
        if (events === 0 || this.deps.clock.now().getTime() >= deadline)
          return { ...result, events_processed: total };
      }
    });
  }

  async compactPending(): Promise<CompactionResult> {
    return this.drain(0);
  }

  /** Replays an operator-written list of ledger objects (never a listing), above the visible watermark. */
  async rebuild(rebuildManifestPath: string): Promise<CompactionResult> {
    const paths = await this.rebuildPaths(rebuildManifestPath);
    return this.withLease((token) => this.rebuildUnderLease(token, paths));
  }

  /** Validates a rebuild manifest and returns its event paths; throws CompactionInputError. */
  async rebuildPaths(rebuildManifestPath: string): Promise<string[]> {
    if (
      !rebuildManifestPath.startsWith(REBUILDS_PREFIX) ||
      !/\.json$/i.test(rebuildManifestPath) ||
      rebuildManifestPath.includes('..')
    )
      throw new CompactionInputError(
        'invalid_argument',
        `rebuild_manifest_path must be a .json object under ${REBUILDS_PREFIX}`,
      );
    const stored = await this.deps.objects.get(rebuildManifestPath);
    if (!stored)
      throw new CompactionInputError('not_found', `rebuild manifest ${rebuildManifestPath} not found`);
    let listed: unknown;
    try {
      listed = JSON.parse(stored.bytes.toString('utf8'));
    } catch {
      throw new CompactionInputError(
        'invalid_argument',
        `rebuild manifest ${rebuildManifestPath} is not valid JSON`,
      );
    }
    const paths = (listed as { event_paths?: unknown }).event_paths;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string'))
      throw new CompactionInputError(
        'invalid_argument',
        'rebuild manifest must be {"event_paths": [string, ...]}',
      );
    const invalid = paths.filter((p) => eventIdFromLedgerPath(p) === null);
    if (invalid.length)
      throw new CompactionInputError(
        'invalid_argument',
        `not ledger paths: ${invalid.slice(0, 10).join(', ')}`,
        {
          invalid_paths: invalid,
        },
      );
    return paths as string[];
  }

  /** Folds the listed events above the visible watermark and publishes them at once. */
  async rebuildUnderLease(token: number, paths: string[]): Promise<CompactionResult> {
    const warm = await this.warm();
    const floor = warm.head.manifest.watermarks.last_visible_event_id ?? '';
    const byId = new Map<string, string>();
    for (const path of paths) {
      const id = eventIdFromLedgerPath(path)!;
      if (id > floor && !byId.has(id)) byId.set(id, path);
    }
    const events = await this.readEvents([...byId.values()]);
    await this.foldEvents(warm, events, null, 'rebuild');
    const result = await this.publish(token);
    return { ...result, events_processed: events.length };
  }

  /** The fencing token of a fresh acquisition (or a renewal by this holder), or null while another holds it. */
  async acquire(): Promise<number | null> {
    // The warm state is not dropped for another workspace while this one loads it and takes the lease;
    // without the lease it is idle again, counted at what it holds now.
    idleWarmRows.delete(this.cacheKey);
    let token: number | null = null;
    try {
      token = await this.acquireLease();
      return token;
    } finally {
      if (token === null) this.keepIdle();
    }
  }

  private async acquireLease(): Promise<number | null> {
    // Loading history (a cold start) needs no lease and may take longer than its 30 s: taken after the
    // load, the lease is fresh when the first publish checks it. The load is checked against the
    // pointer again below, which costs a pointer read when nobody published meanwhile. While another
    // instance holds the lease, nothing is loaded: its holder folds the work.
    if (!this.leased) {
      if (!(await this.lease.free())) return null;
      await this.warm();
    }
    const token = await this.lease.acquire();
    if (token === null) return null;
    // A renewal, or taking the lease back after this holder's own release, moves the token by one;
    // anything else means another holder had it meanwhile and may have published, so the warm state is
    // checked against the pointer again, and may have folded what it never published.
    const continuous = this.token > 0 && token === this.token + 1;
    if (this.leased && !continuous) this.forget();
    this.token = token;
    if (!this.leased) {
      const warm = await this.warm();
      if (!continuous) warm.caughtUp = false;
      this.leased = true;
    }
    return token;
  }

  async release(token: number): Promise<void> {
    this.leased = false;
    this.keepIdle();
    await this.lease.release(token).catch(() => {});
  }

  private keepIdle(): void {
    keepIdle(this.cacheKey, this.deps.idleWarmRows ?? IDLE_WARM_ROWS);
  }

  private async withLease<T>(work: (token: number) => Promise<T>): Promise<T> {
    const token = await this.acquire();
    if (token === null) throw new LeaseBusyError();
    try {
      return await work(token);
    } catch (error) {
      this.forget();
      throw error;
    } finally {
      await this.release(token);
    }
  }

  /** Drops the warm state, as a crash would: the next call reloads the published head and refolds what is pending. */
  forget() {
    cache.delete(this.cacheKey);
    idleWarmRows.delete(this.cacheKey);
    this.leased = false;
    this.token = 0;
  }

  /** True when something folded waits for a publish; `worthPublishing` false means heartbeats only. */
  dirty(): { dirty: boolean; worthPublishing: boolean } {
    const warm = cache.get(this.cacheKey);
    if (!warm) return { dirty: false, worthPublishing: false };
    return {
      // Shards alone (an older layout to rewrite) wait for the next events: publish() needs some, and
      // an idle workspace must not keep its session and lease for them.
      dirty: warm.unpublished.events.length > 0,
      worthPublishing: warm.unpublished.worthPublishing,
    };
  }

  /**
   * Pending batches not folded yet (the periodic scan that finds batches whose hint went elsewhere or
   * was lost). `all` also returns batches already folded and awaiting publication. With `sinceMs`
   * (epoch ms), only batches appended from then on: a batch id is its first event's ULID, so that is
   * a range of ids, and the records of older batches are not read at all.
   */
  async pendingBatches(all = false, sinceMs?: number): Promise<PendingBatch[]> {
    return (await this.scanPending(all, sinceMs)).batches;
  }

  /**
   * `pendingBatches`, leaving out the batches `known` (listed, not read), and telling where a scan that
   * reached its page limit stopped: `through`, the last batch id it listed (null when it listed all).
   */
  private async scanPending(
    all: boolean,
    sinceMs?: number,
    known: ReadonlySet<string> = new Set(),
  ): Promise<{ batches: PendingBatch[]; through: string | null }> {
    // Ids and paths only: most records were folded from their hint already, and a record carries up to
    // 32 KB of events, fetched below only for a batch this compactor has not seen.
    const listed: PendingBatch[] = [];
    const listedAt = performance.now();
    // The smallest ULID of that millisecond sorts before every id minted in it or later.
    const from =
      sinceMs === undefined ? undefined : `${encodeTime(Math.max(0, sinceMs), 10)}${'0'.repeat(16)}`;
    const most = this.deps.maxScanBatches ?? MAX_SCAN_BATCHES;
    while (listed.length < most) {
      const after = listed.at(-1)?.batchId ?? from;
      const page = Math.min(PENDING_BATCHES_PER_SCAN, most - listed.length);
      const rows = await this.deps.documents.query<PendingBatch>(pendingCollection(this.deps.scope), {
        ...(after ? { where: [['batchId', '>', after]] } : {}),
        orderBy: [['batchId', 'asc']],
        limit: page,
        fields: ['batchId', 'paths'],
      });
      listed.push(...rows.map(({ data }) => ({ batchId: data.batchId, paths: data.paths, listedAt })));
      if (rows.length < page) break;
    }
    const warm = cache.get(this.cacheKey);
    const published = recentlyPublished.get(this.cacheKey);
    const folded = (id: string) => !!(warm?.unpublished.batches.has(id) || warm?.publishing.has(id));
    const wanted = listed.filter((b) => (all || !folded(b.batchId)) && !known.has(b.batchId));
    // Folded or published already (fold() deletes the record of a published one): no events needed.
    const unseen = wanted.filter((b) => !folded(b.batchId) && !published?.has(b.batchId));
    const records = new Map<string, PendingBatch>();
    for (let i = 0; i < unseen.length; i += PENDING_BATCHES_PER_SCAN) {
      const read = await this.deps.documents.getMany<PendingBatch>(
        unseen
          .slice(i, i + PENDING_BATCHES_PER_SCAN)
          .map((b) => `${pendingCollection(this.deps.scope)}/${b.batchId}`),
      );
      for (const record of read) if (record) records.set(record.data.batchId, record.data);
    }
    const batches = wanted.map((batch) => {
      if (!unseen.includes(batch)) return batch;
      const record = records.get(batch.batchId);
      // Gone meanwhile: its publish deleted it.
      if (!record) return null;
      return { ...batch, ...(record.eventsJson ? { eventsJson: record.eventsJson } : {}) };
    });
    const truncated = listed.length >= most;
    return {
      batches: batches.filter((b): b is PendingBatch => b !== null),
      through: truncated ? listed.at(-1)!.batchId : null,
    };
  }

  /**
   * Folds batches into the warm state (skipping those already folded or published) and runs the
   * controllers on what changed; the first fold of a state not caught up also takes in every pending
   * batch (up to a scan's page limit, past which hinted batches wait for a later fold). Returns how many
   * events were read.
   */
  async fold(hinted: PendingBatch[]): Promise<number> {
    const warm = await this.warm();
    let batches = hinted;
    if (!warm.caughtUp) {
      // One fold sorts its events, so the batches an earlier holder left come before the hints that
      // follow them. Past a scan's page limit, hints newer than what it listed stay pending for a later
      // fold (a scan finds them). A fold that fails drops the warm state with its session.
      const { batches: pending, through } = await this.scanPending(
        false,
        undefined,
        new Set(hinted.map((b) => b.batchId)),
      );
      batches = [...(through === null ? hinted : hinted.filter((b) => b.batchId <= through)), ...pending];
      warm.caughtUp = through === null;
    }
    const published = recentlyPublished.get(this.cacheKey);
    const deletions = recordDeletions.get(this.cacheKey);
    const fresh = new Map<string, PendingBatch>();
    const stale: string[] = [];
    for (const batch of batches)
      if (published?.has(batch.batchId)) {
        // A hint that arrives after its batch's publish names a record the publish deleted already.
        const deletedAt = deletions?.get(batch.batchId) ?? Number.NEGATIVE_INFINITY;
        if (batch.listedAt !== undefined && batch.listedAt > deletedAt) stale.push(batch.batchId);
      } else if (!warm.unpublished.batches.has(batch.batchId) && !warm.publishing.has(batch.batchId))
        fresh.set(batch.batchId, batch);
    // A record that outlived its publish (its delete failed): it is visible already, so it just goes.
    if (stale.length)
      await this.deps.documents.deleteMany(stale.map((id) => `${pendingCollection(this.deps.scope)}/${id}`));
    if (!fresh.size) return 0;
    const events = await this.batchEvents([...fresh.values()]);
    await this.foldEvents(warm, events, [...fresh.keys()], 'compact');
    return events.length;
  }

  /** The warm state for the published head, loaded again when the pointer moved elsewhere. */
  private async warm(): Promise<WarmState> {
    const cached = cache.get(this.cacheKey);
    if (cached && this.leased) return cached;
    const head = await this.store.head(
      this.deps.clock.now().toISOString(),
      cached && { path: cached.head.pointer?.manifest_path ?? '', manifest: cached.head.manifest },
    );
    if (cached && (cached.head.generation ?? '') === (head.generation ?? '')) return cached;
    const refused = unknownManifestVersion(head.manifest);
    if (refused) throw new CompactionInputError('conflict', refused);
    const listed = await this.store.allShards(head.manifest);
    const { state, shards, misplaced } = await this.store.loadState(listed);
    const unpublished = emptyUnpublished();
    // Shards of an older layout (a table sliced or sharded otherwise before): the next publish rewrites
    // that table whole. A row listed in another shard than its own tells, even where the names are
    // the same (an hour's hash shards `-0`…`-3` against its quarter hours).
    for (const table of TABLES) {
      const index = shards.get(table)!;
      if (misplaced.has(table))
        unpublished.shards.set(table, new Set([...index.keys(), ...Object.keys(listed[table] ?? {})]));
      else {
        // Shards an earlier release published without the summaries of their rows this one writes
        // (`open_rows`, `paged_range`) are rewritten once, with them, by the next publish: readers
        // that rely on the summaries skip them from then on.
        const unsummarised = Object.entries(listed[table] ?? {}).filter(([, a]) =>
          lacksRowSummaries(table, a),
        );
        if (unsummarised.length) unpublished.shards.set(table, new Set(unsummarised.map(([id]) => id)));
      }
    }
    const fresh: WarmState = {
      head,
      listed,
      listedIds: indexListing(listed),
      state,
      shards,
      unpublished,
      publishing: new Set(),
      deferred: [],
      background: [],
      keysPrunedThroughHour: Number.NEGATIVE_INFINITY,
      caughtUp: false,
    };
    cache.set(this.cacheKey, fresh);
    return fresh;
  }

  private async foldEvents(
    warm: WarmState,
    batch: Array<{ path: string; event: OrchestrationEvent }>,
    batchIds: string[] | null,
    mode: 'compact' | 'rebuild',
  ) {
    let round = batch;
    for (let depth = 0; round.length && depth < MAX_CONTROLLER_ROUNDS; depth += 1) {
      const changes = this.apply(warm, round);
      if (depth === 0 && batchIds) for (const id of batchIds) warm.unpublished.batches.add(id);
      const appended: Array<{ path: string; event: OrchestrationEvent }> = [];
      if (mode === 'compact' && this.deps.afterFold && changes.size)
        await this.deps.afterFold(warm.state, changes, {
          append: async (data) => {
            appended.push(...(await this.appendOwn(warm, data)));
          },
          defer: (record) => warm.deferred.push(record),
          // Handled at once: an unhandled rejection would end the process.
          background: (work) =>
            warm.background.push(
              work.then(
                () => undefined,
                () => undefined,
              ),
            ),
        });
      round = appended;
    }
  }

  /** The controllers' own events: durable in the ledger, with a pending record, and no hint. */
  private async appendOwn(
    warm: WarmState,
    data: EventData[],
  ): Promise<Array<{ path: string; event: OrchestrationEvent }>> {
    if (!data.length) return [];
    if (!this.deps.ledger) throw new Error('a compactor with controllers needs a ledger');
    const result = await this.deps.ledger.append(data.map((d) => ({ data: d })));
    warm.unpublished.batches.add(result.batchId);
    return result.events.map((event, i) => ({ path: result.paths[i]!, event }));
  }

  /** Folds events into the warm state in place, remembering the touched shards; returns the changed keys. */
  private apply(warm: WarmState, batch: Array<{ path: string; event: OrchestrationEvent }>): FoldChanges {
    const draft = foldIntoDraft(
      warm.state,
      batch.map((b) => b.event),
    );
    const changes = new Map<TableName, Set<string>>();
    for (const [table, writes] of draft.changed()) {
      const keys = new Set<string>();
      let touched = warm.unpublished.shards.get(table);
      if (!touched) warm.unpublished.shards.set(table, (touched = new Set()));
      const byShard = warm.shards.get(table)!;
      for (const [key, row] of writes) {
        keys.add(key);
        const before = warm.state[table].get(key);
        if (before) {
          const shard = shardOfRow(table, before);
          touched.add(shard);
          byShard.get(shard)?.delete(key);
        }
        if (row) {
          const shard = shardOfRow(table, row);
          touched.add(shard);
          if (!byShard.has(shard)) byShard.set(shard, new Set());
          byShard.get(shard)!.add(key);
        }
      }
      changes.set(table, keys);
    }
    draft.applyTo(warm.state);
    expireIdempotencyKeys(warm, Math.max(...batch.map(({ event }) => eventTimeMs(event))));
    for (const { path, event } of batch) {
      warm.unpublished.events.push({
        path,
        eventId: event.eventId,
        checksum: `sha256:${sha256Hex(canonicalJson(event))}`,
        timeMs: eventTimeMs(event),
      });
      if (event.data.type !== HEARTBEAT_EVENT && changes.size) warm.unpublished.worthPublishing = true;
    }
    return changes;
  }

  /**
   * Publishes what was folded since the last publish: the touched shards, a manifest, the pointer by
   * compare-and-swap; then forgets the published pending batches. Any failure drops the warm state
   * (the next call reloads the head and refolds the pending batches, which is idempotent).
   */
  async publish(token: number): Promise<CompactionResult> {
    const warm = await this.warm();
    if (warm.deferred.length) {
      try {
        // The controllers' deferred events (dispatch acknowledgements) are published with the rest.
        const records = warm.deferred.splice(0).flatMap((record) => record(warm.state));
        const deferred = await this.appendOwn(warm, records);
        if (deferred.length) this.apply(warm, deferred);
      } catch (error) {
        this.forget();
        throw error;
      }
    }
    const { head, unpublished } = warm;
    const current = (): CompactionResult => ({
      events_processed: 0,
      manifest_id: head.manifest.manifest_id,
      manifest_revision: head.manifest.revision_ulid,
      pointer_version: head.generation ?? '',
      visibility_status: 'visible',
      repair_pending: false,
    });
    if (!unpublished.events.length) return current();
    try {
      return await this.publishUnpublished(token, warm);
    } catch (error) {
      this.forget();
      throw error;
    }
  }

  private async publishUnpublished(token: number, warm: WarmState): Promise<CompactionResult> {
    const { head } = warm;
    // What this publish makes visible, taken at once with the rows of its shards: folds that run while
    // it writes (the scheduler keeps dispatching meanwhile) go to the next publish.
    const unpublished = warm.unpublished;
    warm.unpublished = emptyUnpublished();
    warm.publishing = unpublished.batches;
    const touched = touchedRows(warm, unpublished);
    // The work off the dispatch path for what this publish shows (step manifests of finished tasks)
    // ends first, so a reader that sees a task finished finds its manifests. It reports its own failures.
    await Promise.all(warm.background.splice(0));
    const maxEvent = unpublished.events.reduce((a, b) => (b.eventId > a.eventId ? b : a));
    const watermarks = head.manifest.watermarks;
    const advances =
      !watermarks.last_committed_event_id || maxEvent.eventId > watermarks.last_committed_event_id;
    let published = head;
    if (unpublished.shards.size || advances) {
      await this.writeShards(warm, touched);
      const lines = archiveLines(maxEvent.eventId, head.manifest);
      const { tables, archives } = await this.writeArchives(head.manifest, warm, unpublished.shards, lines);
      this.deps.failpoints.hit('compactor.after_shards');
      const now = this.deps.clock.now().toISOString();
      const next: Manifest = {
        ...head.manifest,
        manifest_id: String(Number(head.manifest.manifest_id) + 1).padStart(20, '0'),
        epoch: Math.max(head.manifest.epoch, head.pointer?.epoch ?? 0, token),
        ...(head.pointer ? { previous_manifest_path: head.pointer.manifest_path } : {}),
        revision_ulid: this.deps.ids.next(),
        published_at: now,
        listing_version: LISTING_VERSION,
        tables,
        ...(archives ? { archives } : {}),
        ...lines,
        watermarks: advances
          ? {
              last_committed_event_id: maxEvent.eventId,
              last_visible_event_id: maxEvent.eventId,
              events_processed_through: maxEvent.eventId,
              last_processed_file: maxEvent.path,
              last_processed_at: now,
            }
          : { ...watermarks, last_processed_at: now },
        publication_witness: {
          events: [...new Map(unpublished.events.map((e) => [e.path, e])).values()]
            .map((e) => ({ path: e.path, checksum_sha256: e.checksum }))
            .sort((a, b) => (a.path < b.path ? -1 : 1)),
        },
      };
      // Renewals while this publish wrote moved the fencing token on; the lease tells whether another
      // holder had it since `token`, and a renewal that found so already dropped this warm state.
      if (cache.get(this.cacheKey) !== warm || !(await this.lease.holds(token)))
        throw new CompactionInputError(
          'conflict',
          'the compaction lease was lost before publishing; nothing became visible',
        );
      const written = await this.store.writeManifest(next);
      this.deps.failpoints.hit('compactor.after_manifest');
      const moved = await this.store.movePointer(head, written.manifest, written.path, now);
      if (!moved.moved)
        throw new CompactionInputError(
          'conflict',
          'the pointer moved concurrently; the written manifest is an orphan',
        );
      published = {
        pointer: moved.pointer,
        generation: moved.generation,
        raw: moved.raw,
        manifest: written.manifest,
      };
      this.deps.failpoints.hit('compactor.after_pointer');
    }
    warm.head = published;
    const batches = [...unpublished.batches];
    const events = unpublished.events;
    this.rememberPublished(batches);
    warm.publishing = new Set();
    // The batches are visible now. A crash (or a failed delete) before their records go only means a
    // later scan lists them, and fold() deletes the records of published batches it lists.
    await this.deletePendingRecords(batches);
    // Compaction lag: how long the oldest event waited to become visible (an alert reads it).
    const oldestMs = Math.min(...events.map((e) => e.timeMs));
    this.deps.log.info('compaction published', {
      events: events.length,
      manifest_id: published.manifest.manifest_id,
      last_visible_event_id: published.manifest.watermarks.last_visible_event_id,
      lag_ms: Math.max(0, this.deps.clock.now().getTime() - oldestMs),
    });
    return {
      events_processed: events.length,
      manifest_id: published.manifest.manifest_id,
      manifest_revision: published.manifest.revision_ulid,
      pointer_version: published.generation ?? '',
      visibility_status: 'visible',
      repair_pending: false,
    };
  }

  /**
   * Deletes the pending records of published batches, noting when (see `recordDeletions`); a failure
   * is only logged, since the next scan deletes what is left.
   */
  private async deletePendingRecords(batches: string[]) {
    if (!batches.length) return;
    let deletions = recordDeletions.get(this.cacheKey);
    if (!deletions) recordDeletions.set(this.cacheKey, (deletions = new Map()));
    for (const id of batches) deletions.set(id, Number.POSITIVE_INFINITY);
    await this.deps.documents
      .deleteMany(batches.map((batchId) => `${pendingCollection(this.deps.scope)}/${batchId}`))
      .then(
        () => {
          const at = performance.now();
          for (const id of batches) deletions.set(id, at);
        },
        (error: unknown) => {
          for (const id of batches) deletions.delete(id);
          this.deps.log.warn('pending records not deleted; the next scan deletes them', {
            error: String(error),
          });
        },
      );
    keepNewest(deletions, RECENT_BATCHES);
  }

  private rememberPublished(batches: string[]) {
    if (!batches.length) return;
    let recent = recentlyPublished.get(this.cacheKey);
    if (!recent) recentlyPublished.set(this.cacheKey, (recent = new Set()));
    for (const id of batches) recent.add(id);
    keepNewest(recent, RECENT_BATCHES);
  }

  /** The batches' events: those sent inline as they are, the rest read from the ledger. */
  private async batchEvents(
    batches: PendingBatch[],
  ): Promise<Array<{ path: string; event: OrchestrationEvent }>> {
    const inline: Array<{ path: string; event: OrchestrationEvent }> = [];
    const toRead = new Set<string>();
    for (const batch of batches) {
      let events: OrchestrationEvent[] | null = null;
      try {
        events = batch.eventsJson ? (JSON.parse(batch.eventsJson) as OrchestrationEvent[]) : null;
      } catch {
        events = null;
      }
      if (events?.length === batch.paths.length)
        events.forEach((event, i) => inline.push({ path: batch.paths[i]!, event }));
      else for (const path of batch.paths) toRead.add(path);
    }
    const read = await this.readEvents([...toRead]);
    return [...inline.map(({ path, event }) => this.checkEvent(path, event)), ...read];
  }

  /** Reads every listed event first, so a missing or foreign one fails the whole call before anything is written. */
  private async readEvents(paths: string[]): Promise<Array<{ path: string; event: OrchestrationEvent }>> {
    const read = await mapLimit(paths, 16, async (path) => ({
      path,
      stored: await this.deps.objects.get(path),
    }));
    const missing = read.filter((r) => !r.stored).map((r) => r.path);
    if (missing.length)
      throw new CompactionInputError(
        'not_found',
        `ledger objects not found: ${missing.slice(0, 10).join(', ')}`,
        {
          missing_paths: missing,
        },
      );
    return read.map(({ path, stored }) => {
      let event: OrchestrationEvent;
      try {
        event = JSON.parse(stored!.bytes.toString('utf8')) as OrchestrationEvent;
      } catch {
        throw new CompactionInputError('invalid_argument', `ledger object ${path} is not valid JSON`, {
          path,
        });
      }
      return this.checkEvent(path, event);
    });
  }

  /** An event belongs here: a valid envelope of this workspace, at its canonical ledger path. */
  private checkEvent(path: string, event: OrchestrationEvent): { path: string; event: OrchestrationEvent } {
    try {
      validateEnvelope(event);
    } catch (error) {
      throw new CompactionInputError(
        'invalid_argument',
        `ledger object ${path} is malformed: ${(error as Error).message}`,
        {
          path,
        },
      );
    }
    if (event.tenantId !== this.deps.scope.tenant || event.workspaceId !== this.deps.scope.workspace)
      throw new CompactionInputError(
        'invalid_argument',
        `ledger object ${path} belongs to another workspace`,
        { path },
      );
    if (typeof event.eventId !== 'string' || ledgerPath(event) !== path)
      throw new CompactionInputError(
        'invalid_argument',
        `ledger object ${path} is not at its canonical path`,
        { path },
      );
    return { path, event };
  }

  /**
   * Writes the shards a publish took and updates the warm state's `listed` (and its index) in place:
   * copying it would cost every publish the whole history's listing. A publish that fails drops the
   * warm state.
   */
  private async writeShards(warm: WarmState, touched: ShardRows[]): Promise<void> {
    await mapLimit(touched, 16, async ({ table, shard, rows }) => {
      const artifact = await this.store.writeShard(table, shard, rows);
      const ids = warm.listedIds.get(table)!;
      if (artifact) {
        (warm.listed[table] ??= {})[shard] = artifact;
        const group = shardOfId(shard);
        if (!ids.has(group)) ids.set(group, new Set());
        ids.get(group)!.add(shard);
      } else {
        delete warm.listed[table]?.[shard];
        ids.get(shardOfId(shard))?.delete(shard);
      }
    });
  }

  /**
   * Writes the archives a publish changed (shardArchives.ts) and returns the next manifest's own
   * listing and archives (undefined when there are none).
   */
  private async writeArchives(
    previous: Manifest,
    warm: WarmState,
    touched: ReadonlyMap<TableName, Iterable<string>>,
    lines: ArchiveLines,
  ): Promise<{ tables: Manifest['tables']; archives?: Manifest['archives'] }> {
    const plan = planArchives(
      previous,
      warm.listed,
      touched,
      lines,
      (table, shard) => warm.listedIds.get(table)?.get(shard) ?? [],
    );
    const archives = plan.keep;
    await mapLimit(plan.write, 16, async ({ table, month, shards, previous: before }) => {
      const ref = await this.store.writeArchive(table, month, shards, before);
      (archives[table] ??= {})[month] = ref;
    });
    return { tables: plan.tables, ...(Object.keys(archives).length ? { archives } : {}) };
  }
}

interface ShardRows {
  table: TableName;
  shard: string;
  rows: Row[];
}

/** The rows each shard a publish touched holds now (rows are replaced, never changed in place). */
function touchedRows(warm: WarmState, unpublished: Unpublished): ShardRows[] {
  return [...unpublished.shards].flatMap(([table, shards]) =>
    [...shards].map((shard) => ({
      table,
      shard,
      rows: [...(warm.shards.get(table)?.get(shard) ?? [])]
        .map((key) => warm.state[table].get(key))
        .filter((r): r is Row => r !== undefined),
    })),
  );
}

/**
 * A day past the dedupe window before a key is pruned: an event folded up to a day after a newer one
 * still meets the key it would have met in one batch with it (folding after a lost hint, a crash).
 */
const IDEMPOTENCY_KEY_PRUNE_GRACE_MS = 86_400_000;

/**
 * Retention of idempotency keys (state spec B9): one row per applied event would otherwise keep the warm
 * state, the manifest and a cold start growing with all history. A key's hour shard leaves once the
 * dedupe window of its last key (`evolve`'s gate) closed more than a grace day before the newest
 * event folded: event time alone, never the wall clock. Checked once per hour of event time.
 */
function expireIdempotencyKeys(warm: WarmState, newestEventMs: number) {
  const cutoffMs = newestEventMs - IDEMPOTENCY_KEY_RETENTION_MS - IDEMPOTENCY_KEY_PRUNE_GRACE_MS;
  const cutoffHour = Math.floor(cutoffMs / 3_600_000);
  if (cutoffHour <= warm.keysPrunedThroughHour) return;
  warm.keysPrunedThroughHour = cutoffHour;
  const byShard = warm.shards.get('idempotency_keys')!;
  const rows = warm.state.idempotency_keys as Map<string, Row>;
  for (const [shard, keys] of byShard) {
    // Idempotency keys are never sliced, so every shard id names its hour.
    const bucket = timeBucketOfShard(shard, IDEMPOTENCY_KEY_BUCKET_HOURS);
    if (!bucket || bucket.endMs > cutoffMs) continue;
    for (const key of keys) rows.delete(key);
    byShard.delete(shard);
    let touched = warm.unpublished.shards.get('idempotency_keys');
    if (!touched) warm.unpublished.shards.set('idempotency_keys', (touched = new Set()));
    touched.add(shard);
  }
}

/** Drops the oldest entries (insertion order) of a set or map until at most `max` are left. */
function keepNewest(entries: Set<string> | Map<string, unknown>, max: number) {
  for (const key of entries.keys()) {
    if (entries.size <= max) break;
    entries.delete(key);
  }
}

/** Forgets warm state (tests that delete projections behind the compactor's back). */
export function resetCompactorCache() {
  cache.clear();
  idleWarmRows.clear();
  recentlyPublished.clear();
  recordDeletions.clear();
}
