import type { Scope } from '../../auth/principal.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { backfillChunks } from './backfillCommands.ts';
import {
  type BackfillProgress,
  cancelCompletion,
  chunkSlice,
  chunksToFence,
  chunksToPlan,
  completionOf,
  normaliseSelector,
} from './backfillPlan.ts';
import type { CodeLocationManifest } from '../codeLocationManifest.ts';
import type { EventData } from '../state/events.ts';
import { ManifestStore } from '../manifestStore.ts';
import { canonicalPartitionKey, InvalidPartitionKeyError } from '../partitionKeys.ts';
import type { ProjectionSnapshot } from '../state/projectionReader.ts';
import type { Row } from '../state/projectionTables.ts';
import { reserveRunKey, type RunKeyReservation } from '../run/runKeyReservation.ts';
import { TriggerError, triggerRun, type TriggerRequest } from '../run/triggerRun.ts';
import { appendVisible } from '../state/visibility.ts';

/**
 * A selector value as the asset's canonical partition key (`2026-01-01` → `date=d:2026-01-01` on a
 * daily asset; plain and tagged keys as docs/partition-keys.md reads them).
 */
function canonicalPartition(manifest: CodeLocationManifest, asset: string, raw: string): string {
  const dimensions = manifest.assets.find((a) => a.key === asset)?.dimensions ?? [];
  if (!dimensions.length) throw new TriggerError('invalid_argument', `asset ${asset} is not partitioned`);
  try {
    return canonicalPartitionKey(raw, dimensions);
  } catch (error) {
    if (error instanceof InvalidPartitionKeyError) throw new TriggerError('invalid_argument', error.message);
    throw error;
  }
}

export interface BackfillPlanning {
  planned: number;
  completed: number;
}

/**
 * The fingerprint of a fence: a run-key reservation a cancel takes on a chunk's run key so that no
 * planner can start that chunk afterwards (a trigger with that key meets a fingerprint it can never
 * match). Its events are never appended.
 */
export const CHUNK_FENCE = 'fence:backfill-canceled';

const chunkRunKey = (backfillId: string, index: number) => `backfill:${backfillId}:chunk:${index}`;

/** Chunk `index`'s run as the planner requests it: the same request replays into the same run. */
export function chunkRunRequest(
  manifest: CodeLocationManifest,
  backfill: Row,
  index: number,
): TriggerRequest & { runKey: string; partitionKeys: string[] } {
  const { partitions } = normaliseSelector(backfill.partitionSelector as Record<string, unknown>);
  const asset = (backfill.assetSelection as string[])[0]!;
  return {
    selection: [asset],
    runKey: chunkRunKey(String(backfill.backfillId), index),
    partitionKeys: chunkSlice(partitions, Number(backfill.chunkSize), index).map((p) =>
      canonicalPartition(manifest, asset, p),
    ),
  };
}

/** Fences a chunk's run key; answers the run that took the key first, if a planner got there before. */
async function fenceChunk(
  deps: Dependencies,
  scope: Scope,
  backfillId: string,
  index: number,
): Promise<RunKeyReservation | null> {
  const runKey = chunkRunKey(backfillId, index);
  const trigger = { backfill: { backfillId, chunkId: `${backfillId}:${index}` } };
  const outcome = await reserveRunKey(deps.documents, scope, {
    runKey,
    runId: '',
    planId: '',
    eventId: '',
    planEventId: '',
    requestFingerprint: CHUNK_FENCE,
    createdAt: deps.clock.now().toISOString(),
    runTriggered: { type: 'run_triggered', runId: '', planId: '', trigger, rootAssets: [], runKey },
    planCreated: { type: 'plan_created', runId: '', planId: '', tasks: [] },
  });
  if (outcome.created || outcome.existing.requestFingerprint === CHUNK_FENCE) return null;
  return outcome.existing;
}

const progressOf = (backfill: Row, chunks: Awaited<ReturnType<typeof backfillChunks>>): BackfillProgress => ({
  state: String(backfill.state),
  total: Number(backfill.totalPartitions),
  chunkSize: Number(backfill.chunkSize),
  maxConcurrentRuns: Number(backfill.maxConcurrentRuns),
  chunks: new Map(chunks.map((c) => [c.chunkIndex, c.state])),
});

/**
 * A CANCELING backfill: fences the chunks a concurrent planner could still start, records (and so
 * counts and waits for) any run a planner started before its fence, and moves to CANCELED once no run
 * of the backfill is active.
 */
async function settleCancel(
  deps: Dependencies,
  scope: Scope,
  snapshot: ProjectionSnapshot,
  manifest: CodeLocationManifest | null,
  backfill: Row,
): Promise<EventData[]> {
  const backfillId = String(backfill.backfillId);
  const progress = progressOf(backfill, await backfillChunks(snapshot, backfillId));
  const events: EventData[] = [];
  const unfenced: number[] = [];
  for (const index of chunksToFence(progress)) {
    const existing = await fenceChunk(deps, scope, backfillId, index);
    if (!existing) continue;
    unfenced.push(index);
    const chunkId = `${backfillId}:${index}`;
    let partitionKeys: string[] = [];
    if (manifest)
      try {
        const request = chunkRunRequest(manifest, backfill, index);
        partitionKeys = request.partitionKeys;
        // The planner's own request replays into its run, appending the run's events if it stopped
        // between reserving the key and appending them.
        await triggerRun(deps, scope, { backfill: { backfillId, chunkId } }, request);
      } catch (error) {
        if (!(error instanceof TriggerError)) throw error;
      }
    events.push({
      type: 'backfill_chunk_planned',
      backfillId,
      chunkId,
      chunkIndex: index,
      runKey: existing.runKey,
      partitionKeys,
      requestFingerprint: existing.requestFingerprint,
      runId: existing.runId,
    });
  }
  if (cancelCompletion(progress, unfenced))
    events.push({
      type: 'backfill_state_changed',
      backfillId,
      fromState: 'CANCELING',
      toState: 'CANCELED',
      stateVersion: Number(backfill.stateVersion) + 1,
      changedBy: 'backfill-controller',
    });
  return events;
}

/**
 * Spec §16.3–16.4 for every RUNNING backfill: finish it when its chunks are all terminal, else plan the
 * lowest unplanned chunks the concurrency budget allows. Each chunk's run starts through the run-key
 * reservation (`backfill:{id}:chunk:{i}`) before the chunk is recorded, so a crash in between replays
 * into the same run.
 */
export async function planBackfills(
  deps: Dependencies,
  scope: Scope,
  snapshot: ProjectionSnapshot,
): Promise<BackfillPlanning> {
  const result: BackfillPlanning = { planned: 0, completed: 0 };
  const rows = await snapshot.openRows('backfills');
  const running = rows.filter((b) => b.state === 'RUNNING');
  const canceling = rows.filter((b) => b.state === 'CANCELING');
  if (!running.length && !canceling.length) return result;
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  const events: EventData[] = [];
  for (const backfill of canceling) {
    const settled = await settleCancel(deps, scope, snapshot, manifest, backfill);
    result.completed += settled.filter((e) => e.type === 'backfill_state_changed').length;
    events.push(...settled);
  }
  for (const backfill of running) {
    const backfillId = String(backfill.backfillId);
    const chunks = await backfillChunks(snapshot, backfillId);
    const progress = progressOf(backfill, chunks);
    const done = completionOf(progress);
    if (done) {
      events.push({
        type: 'backfill_state_changed',
        backfillId,
        fromState: 'RUNNING',
        toState: done,
        stateVersion: Number(backfill.stateVersion) + 1,
        changedBy: 'backfill-controller',
      });
      result.completed += 1;
      continue;
    }
    const { partitions } = normaliseSelector(backfill.partitionSelector as Record<string, unknown>);
    for (const index of chunksToPlan(progress)) {
      const chunkId = `${backfillId}:${index}`;
      const runKey = chunkRunKey(backfillId, index);
      let partitionKeys = chunkSlice(partitions, progress.chunkSize, index);
      const chunk = {
        type: 'backfill_chunk_planned' as const,
        backfillId,
        chunkId,
        chunkIndex: index,
        runKey,
      };
      try {
        const request = chunkRunRequest(manifest!, backfill, index);
        partitionKeys = request.partitionKeys;
        const { body, fingerprint } = await triggerRun(
          deps,
          scope,
          { backfill: { backfillId, chunkId } },
          request,
        );
        deps.failpoints.hit('backfill.after_trigger');
        events.push({ ...chunk, partitionKeys, requestFingerprint: fingerprint, runId: body.runId });
      } catch (error) {
        if (!(error instanceof TriggerError)) throw error;
        // A cancel fenced this chunk after this planner read the backfill: it never starts.
        if (error.details?.existingFingerprint === CHUNK_FENCE) continue;
        events.push({
          ...chunk,
          partitionKeys,
          requestFingerprint: '',
          error: error.message,
          ...(error.details ? { details: error.details } : {}),
        });
      }
      result.planned += 1;
    }
  }
  if (events.length)
    await appendVisible(
      deps,
      scope,
      events.map((data) => ({ data })),
    );
  return result;
}
