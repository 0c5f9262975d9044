import type { Scope } from '../../auth/principal.ts';
import { canonicalJson } from '../../core/canonicalJson.ts';
import { sha256Hex } from '../../core/hashing.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { canonicalAssetKey, InvalidAssetKeyError } from '../assetKeys.ts';
import {
  BackfillRequestError,
  type ChunkState,
  chunkState,
  normaliseSelector,
  type PartitionSelector,
  publicBackfillState,
  totalChunks,
} from './backfillPlan.ts';
import { ManifestStore } from '../manifestStore.ts';
import { canonicalPartitionKey, InvalidPartitionKeyError } from '../partitionKeys.ts';
import { readerFor } from '../orchestrationServices.ts';
import type { ProjectionSnapshot } from '../state/projectionReader.ts';
import type { Row } from '../state/projectionTables.ts';
import { plainPartitionFields } from '../run/runViews.ts';
import { publicRunState } from '../run/publicStates.ts';
import type { RunRow } from '../run/evolve.ts';
import { appendVisible } from '../state/visibility.ts';
import type { BackfillRow } from './evolve.ts';
import {
  BackfillCommandError,
  type BackfillRequest,
  decideBackfillStateChange,
  decideRetryFailed,
} from './decide.ts';

export interface BackfillAccepted {
  backfillId: string;
  acceptedEventId: string;
  acceptedAt: string;
}

interface AcceptanceRecord {
  state: 'IN_PROGRESS' | 'ACCEPTED';
  fingerprint: string;
  backfillId: string;
  acceptedAt: string;
  acceptedEventId?: string;
}

const requestPath = (scope: Scope, key: string) =>
  `tenants/${scope.tenant}/workspaces/${scope.workspace}/backfillRequests/${sha256Hex(key)}`;

/**
 * POST …/backfills (spec §16.1): validated before anything is written; idempotent on its key with a
 * crash-safe two-phase record (IN_PROGRESS before the append, ACCEPTED after; a retry that finds
 * IN_PROGRESS re-appends the same event, which the fold deduplicates by key).
 */
export async function createBackfill(
  deps: Dependencies,
  scope: Scope,
  request: BackfillRequest,
  headerKey: string | undefined,
  parentBackfillId?: string,
): Promise<{ status: 200 | 202; body: BackfillAccepted }> {
  if (request.assetSelection.length === 0)
    throw new BackfillCommandError('invalid_argument', 'assetSelection cannot be empty');
  if (request.assetSelection.length > 1)
    throw new BackfillCommandError('invalid_argument', 'multi-asset backfills are not supported yet');
  const key = request.clientRequestId ?? headerKey;
  if (!key)
    throw new BackfillCommandError('invalid_argument', 'clientRequestId or Idempotency-Key is required');
  let asset: string;
  let selector: PartitionSelector;
  let partitions: string[];
  try {
    asset = canonicalAssetKey(request.assetSelection[0]!);
    ({ selector, partitions } = normaliseSelector(request.partitionSelector));
  } catch (error) {
    if (error instanceof BackfillRequestError || error instanceof InvalidAssetKeyError)
      throw new BackfillCommandError('invalid_argument', error.message);
    throw error;
  }
  const chunkSize = request.chunkSize || 10;
  const maxConcurrentRuns = request.maxConcurrentRuns || 2;
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  const dimensions = manifest?.assets.find((a) => a.key === asset)?.dimensions;
  if (!dimensions) throw new BackfillCommandError('invalid_argument', `unknown asset keys: ${asset}`);
  ({ selector, partitions } = typedSelector(selector, partitions, dimensions));
  const fingerprint = sha256Hex(
    canonicalJson({
      assetSelection: [asset],
      partitionSelector: selector,
      chunkSize,
      maxConcurrentRuns,
      parentBackfillId: parentBackfillId ?? null,
    }),
  );

  const path = requestPath(scope, key);
  const now = deps.clock.now();
  const fresh: AcceptanceRecord = {
    state: 'IN_PROGRESS',
    fingerprint,
    backfillId: deps.ids.next(now.getTime()),
    acceptedAt: now.toISOString(),
  };
  const created = await deps.documents.create(path, fresh);
  const record =
    created.status === 'created' ? fresh : (await deps.documents.get<AcceptanceRecord>(path))!.data;
  if (record.fingerprint !== fingerprint)
    throw new BackfillCommandError('conflict', 'idempotency key already used for a different backfill', {
      existingBackfillId: record.backfillId,
    });
  if (record.state === 'ACCEPTED')
    return {
      status: 200,
      body: {
        backfillId: record.backfillId,
        acceptedEventId: record.acceptedEventId!,
        acceptedAt: record.acceptedAt,
      },
    };
  const { events } = await appendVisible(deps, scope, [
    {
      data: {
        type: 'backfill_created',
        backfillId: record.backfillId,
        clientRequestId: key,
        assetSelection: [asset],
        codeVersion: manifest.codeVersionId,
        partitionSelector: selector,
        totalPartitions: partitions.length,
        chunkSize,
        maxConcurrentRuns,
        ...(parentBackfillId ? { parentBackfillId } : {}),
      },
    },
  ]);
  const accepted = { ...record, state: 'ACCEPTED' as const, acceptedEventId: events[0]!.eventId };
  await deps.documents.set(path, accepted);
  return {
    status: created.status === 'created' ? 202 : 200,
    body: {
      backfillId: accepted.backfillId,
      acceptedEventId: accepted.acceptedEventId,
      acceptedAt: accepted.acceptedAt,
    },
  };
}

/**
 * Every partition of a selector must name a partition of the asset (docs/partition-keys.md), so a
 * backfill is refused (400) before anything is written rather than failing chunk by chunk. The
 * selector keeps the partitions as written (its fingerprint, and so idempotent replays, depend on it);
 * two spellings of one partition count once, the first kept.
 */
function typedSelector(
  selector: PartitionSelector,
  partitions: string[],
  dimensions: Parameters<typeof canonicalPartitionKey>[1],
): { selector: PartitionSelector; partitions: string[] } {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const partition of partitions) {
    let key: string;
    try {
      key = canonicalPartitionKey(partition, dimensions);
    } catch (error) {
      if (!(error instanceof InvalidPartitionKeyError)) throw error;
      throw new BackfillCommandError('invalid_argument', `partition selector: ${error.message}`, {
        partition,
      });
    }
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(partition);
  }
  if (selector.type !== 'explicit' || kept.length === partitions.length) return { selector, partitions };
  return { selector: { type: 'explicit', partitions: kept }, partitions: kept };
}

export interface BackfillChunkView {
  chunkId: string;
  backfillId: string;
  chunkIndex: number;
  partitionKeys: string[];
  runKey: string;
  runId?: string;
  state: ChunkState;
  error?: string;
  details?: Record<string, unknown>;
}

/** A backfill's chunks with the state each takes from its run (spec §16.4). */
export async function backfillChunks(
  snapshot: ProjectionSnapshot,
  backfillId: string,
): Promise<BackfillChunkView[]> {
  const rows = (await snapshot.rowsOf('backfill_chunks', backfillId)).filter(
    (r) => r.backfillId === backfillId,
  );
  const views = await Promise.all(
    rows.map(async (row) => {
      const runId = row.runId as string | undefined;
      const run = runId
        ? ((await snapshot.rowsOf('runs', runId)).find((r) => r.runId === runId) as RunRow | undefined)
        : undefined;
      return {
        chunkId: String(row.chunkId),
        backfillId,
        chunkIndex: Number(row.chunkIndex),
        partitionKeys: row.partitionKeys as string[],
        runKey: String(row.runKey),
        ...(runId ? { runId } : {}),
        state: row.error ? ('FAILED' as const) : chunkState(run ? publicRunState(run) : undefined),
        ...(row.error ? { error: String(row.error) } : {}),
        ...(row.details ? { details: row.details as Record<string, unknown> } : {}),
      };
    }),
  );
  return views.sort((a, b) => a.chunkIndex - b.chunkIndex);
}

/** BackfillResponse of spec §20.6, with chunk counts from the chunks' runs. */
export function backfillView(row: Row, chunks: BackfillChunkView[]) {
  const count = (state: ChunkState) => chunks.filter((c) => c.state === state).length;
  const total = totalChunks(Number(row.totalPartitions), Number(row.chunkSize));
  return {
    backfillId: row.backfillId,
    assetSelection: row.assetSelection,
    partitionSelector: plainPartitionFields(row.partitionSelector),
    totalPartitions: row.totalPartitions,
    chunkSize: row.chunkSize,
    maxConcurrentRuns: row.maxConcurrentRuns,
    state: publicBackfillState(String(row.state)),
    stateVersion: row.stateVersion,
    createdAt: row.createdAt,
    ...(row.parentBackfillId ? { parentBackfillId: row.parentBackfillId } : {}),
    chunkCounts: {
      total,
      pending: total - count('RUNNING') - count('SUCCEEDED') - count('FAILED'),
      running: count('RUNNING'),
      succeeded: count('SUCCEEDED'),
      failed: count('FAILED'),
    },
  };
}

export async function readBackfill(deps: Dependencies, scope: Scope, backfillId: string) {
  const snapshot = await readerFor(deps, scope).snapshot();
  const row = (await snapshot.rowsOf('backfills', backfillId)).find((r) => r.backfillId === backfillId);
  if (!row) throw new BackfillCommandError('not_found', `backfill not found: ${backfillId}`);
  const chunks = await backfillChunks(snapshot, backfillId);
  return { row, chunks, view: backfillView(row, chunks) };
}

/** Appends a state change (spec §16.2); the fold applies it only from the state and version it names. */
export async function changeBackfillState(
  deps: Dependencies,
  scope: Scope,
  backfillId: string,
  toState: string,
  changedBy: string,
  expectedStateVersion?: number,
) {
  const { row } = await readBackfill(deps, scope, backfillId);
  const events = decideBackfillStateChange(
    { backfillId, toState, changedBy, expectedStateVersion },
    row as BackfillRow,
  );
  const { visibility_status } = await appendVisible(deps, scope, events);
  const after = await readBackfill(deps, scope, backfillId);
  if (visibility_status === 'visible') return after.view;
  // Not published yet: answer with the change as recorded (the fold applies it from this version).
  return backfillView(
    { ...after.row, state: toState, stateVersion: Number(row.stateVersion) + 1 },
    after.chunks,
  );
}

/** Spec §16.5: a new backfill over exactly the failed chunks' partitions of a FAILED parent. */
export async function retryFailedBackfill(
  deps: Dependencies,
  scope: Scope,
  parentId: string,
  retryRequestId: string,
) {
  const { row, chunks } = await readBackfill(deps, scope, parentId);
  return createBackfill(
    deps,
    scope,
    decideRetryFailed(parentId, retryRequestId, row as BackfillRow, chunks),
    undefined,
    parentId,
  );
}
