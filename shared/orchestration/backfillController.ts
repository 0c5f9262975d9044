import type { Scope } from '../auth/principal.ts';
import type { Dependencies } from '../runtime/dependencies.ts';
import { backfillChunks } from './backfillCommands.ts';
import { chunkSlice, chunksToPlan, completionOf, normaliseSelector } from './backfillPlan.ts';
import type { CodeLocationManifest } from './codeLocationManifest.ts';
import type { EventData } from './events.ts';
import { ManifestStore } from './manifestStore.ts';
import type { ProjectionSnapshot } from './projectionReader.ts';
import { resolvePartitionKey, TriggerError, triggerRun } from './triggerRun.ts';
import { appendVisible } from './visibility.ts';

/** A selector value as the asset's canonical partition key (`date=d:2026-01-01` for a daily asset). */
function canonicalPartition(manifest: CodeLocationManifest, asset: string, raw: string): string {
  if (raw.includes('=')) return raw;
  const dimension = manifest.assets.find((a) => a.key === asset)?.dimensions[0];
  if (!dimension) throw new TriggerError(400, `asset ${asset} is not partitioned`);
  return resolvePartitionKey(
    { selection: [asset], partitions: [{ key: dimension.name, value: raw }] },
    manifest,
    [asset],
  )!;
}

export interface BackfillPlanning {
  planned: number;
  completed: number;
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
  const running = (await snapshot.rows('backfills')).filter((b) => b.state === 'RUNNING');
  if (!running.length) return result;
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  const events: EventData[] = [];
  for (const backfill of running) {
    const backfillId = String(backfill.backfillId);
    const chunks = await backfillChunks(snapshot, backfillId);
    const progress = {
      state: 'RUNNING',
      total: Number(backfill.totalPartitions),
      chunkSize: Number(backfill.chunkSize),
      maxConcurrentRuns: Number(backfill.maxConcurrentRuns),
      chunks: new Map(chunks.map((c) => [c.chunkIndex, c.state])),
    };
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
    const asset = (backfill.assetSelection as string[])[0]!;
    for (const index of chunksToPlan(progress)) {
      const chunkId = `${backfillId}:${index}`;
      const runKey = `backfill:${backfillId}:chunk:${index}`;
      let partitionKeys = chunkSlice(partitions, progress.chunkSize, index);
      const chunk = {
        type: 'backfill_chunk_planned' as const,
        backfillId,
        chunkId,
        chunkIndex: index,
        runKey,
      };
      try {
        partitionKeys = partitionKeys.map((p) => canonicalPartition(manifest!, asset, p));
        const { body, fingerprint } = await triggerRun(
          deps,
          scope,
          { backfill: { backfillId, chunkId } },
          { selection: [asset], runKey, partitionKeys },
        );
        deps.failpoints.hit('backfill.after_trigger');
        events.push({ ...chunk, partitionKeys, requestFingerprint: fingerprint, runId: body.runId });
      } catch (error) {
        if (!(error instanceof TriggerError)) throw error;
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
