import type { Clock } from '../../adapters/clock.ts';
import type { DocumentStore } from '../../adapters/documentStore.ts';
import type { IdGenerator } from '../../adapters/idGenerator.ts';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import type { Scope } from '../../auth/principal.ts';
import { canonicalJson } from '../../core/canonicalJson.ts';
import { groupCommit } from '../../core/groupCommit.ts';
import { mapLimit } from '../../core/mapLimit.ts';
import type { Logger } from '../../observability/logger.ts';
import type { HintSender } from './compactionHint.ts';
import { validateEnvelope } from './eventSchema.ts';
import { type EventData, envelope, eventTimeMs, ledgerPath, type OrchestrationEvent } from './events.ts';

export class LedgerConflictError extends Error {}

export interface LedgerDeps {
  objects: ObjectStore;
  documents: DocumentStore;
  /** Wakes the compactor after a batch is durable; absent for the compactor's own appends. */
  hints?: HintSender;
  ids: IdGenerator;
  clock: Clock;
  log: Logger;
  scope: Scope;
}

export interface AppendInput {
  data: EventData;
  idempotencyKey?: string;
  causationId?: string;
}

export interface AppendResult {
  events: OrchestrationEvent[];
  /** The pending batch the compactor will fold; gone once the batch is visible. */
  batchId: string;
  /** The batch's ledger paths, in the order of `events`. */
  paths: string[];
}

const FUTURE_LIMIT_MS = 5 * 60_000;
/** Batches up to this size (canonical JSON bytes) ride inline in their pending record and hint. */
const INLINE_EVENTS_MAX_BYTES = 32 * 1024;

/**
 * The pending records of one process's appends, written by group commit: concurrent appends (a burst
 * of worker callbacks) share one Firestore batch write instead of a round trip each. A batch takes
 * at most 500 writes and 10 MB; each record is at most about 33 KB.
 */
const pendingWriters = new WeakMap<DocumentStore, (record: PendingRecordWrite) => Promise<void>>();
const PENDING_RECORDS_PER_WRITE = 200;
interface PendingRecordWrite {
  path: string;
  data: object;
}
function pendingRecordWriter(documents: DocumentStore) {
  let writer = pendingWriters.get(documents);
  if (!writer) {
    const commit = groupCommit<PendingRecordWrite>(
      (_, records) =>
        records.length === 1 ? documents.set(records[0]!.path, records[0]!.data) : documents.setMany(records),
      (queue) => Math.min(queue.length, PENDING_RECORDS_PER_WRITE),
    );
    pendingWriters.set(documents, (writer = (record) => commit('', record)));
  }
  return writer;
}

export const pendingCollection = (scope: Scope) =>
  `tenants/${scope.tenant}/workspaces/${scope.workspace}/orchestrationPending`;

/**
 * The GCS ledger: every event is a create-only object of canonical JSON; appending the same event again is
 * harmless. Each append batch leaves one pending record (Firestore) that the compactor folds, so no
 * correctness path lists the bucket, and one hint per batch wakes the compactor. An append never waits
 * for a compaction.
 */
export class Ledger {
  constructor(private readonly deps: LedgerDeps) {}

  async append(inputs: AppendInput[]): Promise<AppendResult> {
    const now = this.deps.clock.now();
    const events = inputs.map((input) =>
      envelope({
        eventId: this.deps.ids.next(now.getTime()),
        tenantId: this.deps.scope.tenant,
        workspaceId: this.deps.scope.workspace,
        timestamp: now,
        data: input.data,
        ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
        ...(input.causationId ? { causationId: input.causationId } : {}),
      }),
    );
    return this.appendEvents(events);
  }

  /** Appends envelopes built elsewhere (replays, tests); ids far in the future are refused. */
  async appendEvents(events: OrchestrationEvent[]): Promise<AppendResult> {
    if (!events.length) throw new Error('nothing to append');
    const nowMs = this.deps.clock.now().getTime();
    for (const event of events) {
      validateEnvelope(event);
      if (event.tenantId !== this.deps.scope.tenant || event.workspaceId !== this.deps.scope.workspace)
        throw new LedgerConflictError(`event ${event.eventId} belongs to another workspace`);
      if (eventTimeMs(event) > nowMs + FUTURE_LIMIT_MS)
        throw new LedgerConflictError(`event ${event.eventId} is more than 5 minutes in the future`);
    }
    const paths = await mapLimit(events, 16, (event) => this.write(event));
    const batchId = events.map((e) => e.eventId).sort()[0]!;
    // A small batch travels with its record and its hint, so folding it reads nothing back from GCS;
    // the ledger objects stay the truth (a rebuild replays them).
    const eventsJson = canonicalJson(events);
    const inline = Buffer.byteLength(eventsJson) <= INLINE_EVENTS_MAX_BYTES ? { eventsJson } : {};
    await pendingRecordWriter(this.deps.documents)({
      path: `${pendingCollection(this.deps.scope)}/${batchId}`,
      data: { batchId, paths, ...inline, createdAt: new Date(nowMs).toISOString() },
    });
    await this.deps
      .hints?.({
        tenant: this.deps.scope.tenant,
        workspace: this.deps.scope.workspace,
        batches: [{ batchId, paths, ...inline }],
      })
      .catch((error: unknown) =>
        this.deps.log.warn('compactor hint not sent; its periodic scan folds the batch', {
          error: String(error),
        }),
      );
    return { events, batchId, paths };
  }

  private async write(event: OrchestrationEvent): Promise<string> {
    const path = ledgerPath(event);
    const bytes = Buffer.from(canonicalJson(event));
    const put = await this.deps.objects.put(path, bytes, { ifGenerationMatch: 0 });
    if (put.status === 'written') return path;
    const existing = await this.deps.objects.get(path);
    const same =
      existing !== null &&
      (existing.bytes.equals(bytes) ||
        canonicalJson(JSON.parse(existing.bytes.toString('utf8'))) === bytes.toString());
    if (!same) throw new LedgerConflictError(`ledger event ${event.eventId} exists with a different payload`);
    return path;
  }
}
