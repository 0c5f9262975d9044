import type { Clock } from '../adapters/clock.ts';
import type { DocumentStore } from '../adapters/documentStore.ts';
import type { IdGenerator } from '../adapters/idGenerator.ts';
import type { ObjectStore } from '../adapters/objectStore.ts';
import type { Scope } from '../auth/principal.ts';
import { canonicalJson } from '../core/canonicalJson.ts';
import type { Failpoints } from '../core/failpoints.ts';
import { sha256Hex } from '../core/hashing.ts';
import type { Logger } from '../observability/logger.ts';
import { CompactionLease } from './compactionLease.ts';
import { validateEnvelope } from './eventSchema.ts';
import { eventIdFromLedgerPath, eventTimeMs, ledgerPath, type OrchestrationEvent } from './events.ts';
import { foldIntoDraft } from './evolve.ts';
import { mapLimit } from '../core/mapLimit.ts';
import { pendingCollection } from './ledger.ts';
import type { ProjectionDraft } from './projectionDraft.ts';
import {
  type Head,
  type Manifest,
  ProjectionStore,
  REBUILDS_PREFIX,
  touchedShards,
} from './projectionStore.ts';
import { type FoldState, type Row, shardOfRow, TABLES, type TableName } from './projectionTables.ts';

export interface CompactionResult {
  events_processed: number;
  manifest_id: string;
  manifest_revision: string;
  pointer_version: string;
  visibility_status: 'visible' | 'persisted_not_visible';
  repair_pending: false;
}

export class LeaseBusyError extends Error {
  constructor() {
    super('another compaction of this workspace holds the lease; retry shortly');
  }
}

/** A refusal that names what was wrong with the request; nothing was published. */
export class CompactionInputError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface CompactorDeps {
  objects: ObjectStore;
  documents: DocumentStore;
  clock: Clock;
  ids: IdGenerator;
  failpoints: Failpoints;
  log: Logger;
  scope: Scope;
  holderId?: string;
  /** Controllers that act on what a publish changed (dispatch, timers); they only append events. */
  afterPublish?: (state: FoldState, changedRunIds: Set<string>) => Promise<void>;
}

interface CachedState {
  manifestPath: string;
  manifest: Manifest;
  state: FoldState;
  /** table → shard → keys, so a touched shard is rebuilt from its own rows only. */
  shards: Map<TableName, Map<string, Set<string>>>;
}

/** One warm state per workspace and process: a compaction reloads only when the pointer moved elsewhere. */
const cache = new Map<string, CachedState>();

function indexShards(state: FoldState): CachedState['shards'] {
  const index = new Map<TableName, Map<string, Set<string>>>();
  for (const table of TABLES) {
    const byShard = new Map<string, Set<string>>();
    for (const [key, row] of state[table]) {
      const shard = shardOfRow(table, row);
      if (!byShard.has(shard)) byShard.set(shard, new Set());
      byShard.get(shard)!.add(key);
    }
    index.set(table, byShard);
  }
  return index;
}

const PENDING_BATCHES_PER_COMPACTION = 200;

/**
 * The compactor (state spec B5–B7, B11): the single fenced writer of a workspace's projections. It folds
 * every pending append batch (or an explicit rebuild list), writes only the shards the batch touched,
 * writes an immutable manifest and moves the pointer by compare-and-swap.
 */
export class Compactor {
  private readonly store: ProjectionStore;
  private readonly lease: CompactionLease;
  private readonly cacheKey: string;

  constructor(private readonly deps: CompactorDeps) {
    this.store = new ProjectionStore(deps.objects);
    this.lease = new CompactionLease(
      deps.documents,
      deps.scope,
      deps.clock,
      deps.holderId ?? `compactor-${process.pid}-${deps.ids.next()}`,
    );
    this.cacheKey = `${deps.scope.tenant}/${deps.scope.workspace}`;
  }

  /** Folds pending batches until none are left or the budget is spent. */
  async drain(budgetMs = 5_000): Promise<CompactionResult> {
    const deadline = this.deps.clock.now().getTime() + budgetMs;
    let total = 0;
    for (;;) {
      const result = await this.compactPending();
      total += result.events_processed;
      if (result.events_processed === 0 || this.deps.clock.now().getTime() >= deadline)
        return { ...result, events_processed: total };
    }
  }

  async compactPending(): Promise<CompactionResult> {
    return this.withLease(async (token) => {
      const pending = await this.deps.documents.query<{ batchId: string; paths: string[] }>(
        pendingCollection(this.deps.scope),
        {
          orderBy: [['batchId', 'asc']],
          limit: PENDING_BATCHES_PER_COMPACTION,
        },
      );
      const paths = [...new Set(pending.flatMap((p) => p.data.paths))];
      const events = await this.readEvents(paths);
      const result = await this.publish(token, events, 'compact');
      // The batches are visible now; a crash before this only means they are folded again (a no-op).
      await Promise.all(pending.map((p) => this.deps.documents.delete(p.path)));
      return result;
    });
  }

  /** Replays an operator-written list of ledger objects (never a listing), above the visible watermark. */
  async rebuild(rebuildManifestPath: string): Promise<CompactionResult> {
    if (
      !rebuildManifestPath.startsWith(REBUILDS_PREFIX) ||
      !/\.json$/i.test(rebuildManifestPath) ||
      rebuildManifestPath.includes('..')
    )
      throw new CompactionInputError(
        400,
        `rebuild_manifest_path must be a .json object under ${REBUILDS_PREFIX}`,
      );
    const stored = await this.deps.objects.get(rebuildManifestPath);
    if (!stored) throw new CompactionInputError(404, `rebuild manifest ${rebuildManifestPath} not found`);
    let listed: unknown;
    try {
      listed = JSON.parse(stored.bytes.toString('utf8'));
    } catch {
      throw new CompactionInputError(400, `rebuild manifest ${rebuildManifestPath} is not valid JSON`);
    }
    const paths = (listed as { event_paths?: unknown }).event_paths;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string'))
      throw new CompactionInputError(400, 'rebuild manifest must be {"event_paths": [string, ...]}');
    const invalid = paths.filter((p) => eventIdFromLedgerPath(p) === null);
    if (invalid.length)
      throw new CompactionInputError(400, `not ledger paths: ${invalid.slice(0, 10).join(', ')}`, {
        invalid_paths: invalid,
      });
    return this.withLease(async (token) => {
      const head = await this.head();
      const floor = head.manifest.watermarks.last_visible_event_id ?? '';
      const byId = new Map<string, string>();
      for (const path of paths as string[]) {
        const id = eventIdFromLedgerPath(path)!;
        if (id > floor && !byId.has(id)) byId.set(id, path);
      }
      const events = await this.readEvents([...byId.values()]);
      return this.publish(token, events, 'rebuild', head);
    });
  }

  private async withLease<T>(work: (token: number) => Promise<T>): Promise<T> {
    // Loading history (a cold start) needs no lease and may take longer than one; only folding and
    // publishing happen under it, and they reuse this state unless the pointer moved meanwhile.
    await this.warmState(await this.head());
    const token = await this.lease.acquire();
    if (token === null) throw new LeaseBusyError();
    try {
      return await work(token);
    } finally {
      await this.lease.release(token).catch(() => {});
    }
  }

  /** The published head; the manifest comes from the warm cache when the pointer still names it. */
  private head(): Promise<Head> {
    const cached = cache.get(this.cacheKey);
    return this.store.head(
      this.deps.clock.now().toISOString(),
      cached && { path: cached.manifestPath, manifest: cached.manifest },
    );
  }

  /** Reads every listed event first, so a missing or foreign one fails the whole call before anything is written. */
  private async readEvents(
    paths: string[],
  ): Promise<Array<{ path: string; event: OrchestrationEvent; bytes: Buffer }>> {
    const read = await mapLimit(paths, 16, async (path) => ({
      path,
      stored: await this.deps.objects.get(path),
    }));
    const missing = read.filter((r) => !r.stored).map((r) => r.path);
    if (missing.length)
      throw new CompactionInputError(404, `ledger objects not found: ${missing.slice(0, 10).join(', ')}`, {
        missing_paths: missing,
      });
    return read.map(({ path, stored }) => {
      let event: OrchestrationEvent;
      try {
        event = JSON.parse(stored!.bytes.toString('utf8')) as OrchestrationEvent;
      } catch {
        throw new CompactionInputError(400, `ledger object ${path} is not valid JSON`, { path });
      }
      try {
        validateEnvelope(event);
      } catch (error) {
        throw new CompactionInputError(
          400,
          `ledger object ${path} is malformed: ${(error as Error).message}`,
          { path },
        );
      }
      if (event.tenantId !== this.deps.scope.tenant || event.workspaceId !== this.deps.scope.workspace)
        throw new CompactionInputError(400, `ledger object ${path} belongs to another workspace`, { path });
      if (typeof event.eventId !== 'string' || ledgerPath(event) !== path)
        throw new CompactionInputError(400, `ledger object ${path} is not at its canonical path`, { path });
      return { path, event, bytes: stored!.bytes };
    });
  }

  private async warmState(head: Head): Promise<CachedState> {
    const path = head.pointer?.manifest_path ?? '';
    const cached = cache.get(this.cacheKey);
    if (cached && cached.manifestPath === path) return cached;
    const state = await this.store.loadState(head.manifest);
    const fresh = { manifestPath: path, manifest: head.manifest, state, shards: indexShards(state) };
    cache.set(this.cacheKey, fresh);
    return fresh;
  }

  private async publish(
    token: number,
    batch: Array<{ path: string; event: OrchestrationEvent; bytes: Buffer }>,
    mode: 'compact' | 'rebuild',
    knownHead?: Head,
  ): Promise<CompactionResult> {
    const head = knownHead ?? (await this.head());
    const current = (): CompactionResult => ({
      events_processed: 0,
      manifest_id: head.manifest.manifest_id,
      manifest_revision: head.manifest.revision_ulid,
      pointer_version: head.generation ?? '',
      visibility_status: 'visible',
      repair_pending: false,
    });
    if (!batch.length) return current();
    const warm = await this.warmState(head);
    const draft = foldIntoDraft(
      warm.state,
      batch.map((b) => b.event),
    );
    const maxId = batch
      .map((b) => b.event.eventId)
      .sort()
      .at(-1)!;
    const watermarks = head.manifest.watermarks;
    const advances = !watermarks.last_committed_event_id || maxId > watermarks.last_committed_event_id;
    if (!draft.changed().size && !advances) return { ...current(), events_processed: batch.length };

    const tables = await this.writeTouchedShards(head.manifest, warm, draft);
    this.deps.failpoints.hit('compactor.after_shards');
    const now = this.deps.clock.now().toISOString();
    const maxPath = batch.find((b) => b.event.eventId === maxId)!.path;
    const next: Manifest = {
      ...head.manifest,
      manifest_id: String(Number(head.manifest.manifest_id) + 1).padStart(20, '0'),
      epoch: Math.max(head.manifest.epoch, head.pointer?.epoch ?? 0, token),
      ...(head.pointer ? { previous_manifest_path: head.pointer.manifest_path } : {}),
      revision_ulid: this.deps.ids.next(),
      published_at: now,
      tables,
      watermarks: advances
        ? {
            last_committed_event_id: maxId,
            last_visible_event_id: maxId,
            events_processed_through: maxId,
            last_processed_file: maxPath,
            last_processed_at: now,
          }
        : { ...watermarks, last_processed_at: now },
      publication_witness: {
        events: batch
          .map((b) => ({ path: b.path, checksum_sha256: `sha256:${sha256Hex(canonicalJson(b.event))}` }))
          .sort((a, b) => (a.path < b.path ? -1 : 1)),
      },
    };
    if (!(await this.lease.holds(token)))
      throw new CompactionInputError(
        409,
        'the compaction lease was lost before publishing; nothing became visible',
      );
    const written = await this.store.writeManifest(next);
    this.deps.failpoints.hit('compactor.after_manifest');
    const moved = await this.store.movePointer(head, written.manifest, written.path, now);
    if (!moved.moved) {
      cache.delete(this.cacheKey);
      throw new CompactionInputError(
        409,
        'the pointer moved concurrently; the written manifest is an orphan',
      );
    }
    draft.applyTo(warm.state as FoldState);
    this.reindex(warm, draft);
    warm.manifestPath = written.path;
    warm.manifest = written.manifest;
    this.deps.failpoints.hit('compactor.after_pointer');
    if (this.deps.afterPublish) {
      const runIds = new Set<string>();
      for (const table of ['runs', 'tasks', 'dispatch_outbox', 'timers'] as const)
        for (const [key, row] of draft.changed().get(table) ?? [])
          runIds.add(String((row ?? warm.state[table].get(key))?.runId ?? ''));
      runIds.delete('');
      // A failure here loses nothing: the events are published, and the next publish reconsiders these runs.
      await this.deps
        .afterPublish(warm.state, runIds)
        .catch((error: unknown) =>
          this.deps.log.error('controllers after publish failed', { error: String(error) }),
        );
    }
    // Compaction lag: how long the oldest event of the batch waited to become visible (an alert reads it).
    const oldestMs = Math.min(...batch.map((b) => eventTimeMs(b.event)));
    this.deps.log.info('compaction published', {
      mode,
      events: batch.length,
      manifest_id: written.manifest.manifest_id,
      last_visible_event_id: written.manifest.watermarks.last_visible_event_id,
      lag_ms: Math.max(0, this.deps.clock.now().getTime() - oldestMs),
    });
    return {
      events_processed: batch.length,
      manifest_id: written.manifest.manifest_id,
      manifest_revision: written.manifest.revision_ulid,
      pointer_version: moved.generation,
      visibility_status: 'visible',
      repair_pending: false,
    };
  }

  private async writeTouchedShards(
    manifest: Manifest,
    warm: CachedState,
    draft: ProjectionDraft,
  ): Promise<Manifest['tables']> {
    const tables = Object.fromEntries(
      TABLES.map((t) => [t, { ...(manifest.tables[t] ?? {}) }]),
    ) as Manifest['tables'];
    const changed = draft.changed();
    const touched = touchedShards(warm.state, changed);
    await mapLimit(touched, 16, async ({ table, shard }) => {
      const keys = new Set(warm.shards.get(table)?.get(shard) ?? []);
      for (const [key, row] of changed.get(table) ?? []) {
        const shardOfKey = shardOfRow(table, (row ?? warm.state[table].get(key))!);
        if (shardOfKey !== shard) continue;
        if (row === null) keys.delete(key);
        else keys.add(key);
      }
      const rows = [...keys].map((key) => draft.get(table, key)).filter((r): r is Row => r !== undefined);
      const artifact = await this.store.writeShard(table, shard, rows);
      if (artifact) tables[table][shard] = artifact;
      else delete tables[table][shard];
    });
    return tables;
  }

  private reindex(warm: CachedState, draft: ProjectionDraft) {
    for (const [table, writes] of draft.changed()) {
      const byShard = warm.shards.get(table)!;
      for (const [key, row] of writes) {
        for (const keys of byShard.values()) keys.delete(key);
        if (row === null) continue;
        const shard = shardOfRow(table, row);
        if (!byShard.has(shard)) byShard.set(shard, new Set());
        byShard.get(shard)!.add(key);
      }
    }
  }
}

/** Forgets warm state (tests that delete projections behind the compactor's back). */
export function resetCompactorCache() {
  cache.clear();
}
