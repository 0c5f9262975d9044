import { createHash } from 'node:crypto';
import type { ObjectStore } from '../adapters/objectStore.ts';
import { partitionPath } from './stepManifests.ts';

/**
 * "Current" data pointers (pipeline-ops spec §5): one small JSON object per (asset, partition) moved
 * only by compare-and-swap on its GCS generation, with a create-only history entry per move. Rollback
 * is a forward move to an older target, so history stays append-only.
 */
export interface DataPointer {
  pointerVersion: 'v1';
  kind: 'data';
  assetKey: string;
  partitionKey: string;
  sequence: number;
  runId: string;
  manifestPath: string;
  outputs: Array<Record<string, unknown>>;
  asOfTs: string;
  codeVersion: string | null;
  action: 'promote' | 'rollback';
  reason?: string;
  promotedAt: string;
  promotedBy: string;
  previous?: { sequence: number; runId: string; manifestPath: string; promotedAt: string };
  parentPointerHash?: string;
}

export type PointerTarget = Pick<
  DataPointer,
  'runId' | 'manifestPath' | 'outputs' | 'asOfTs' | 'codeVersion'
>;

export class PointerError extends Error {
  constructor(
    readonly reason: 'pointer_conflict' | 'older_than_current' | 'not_found' | 'no_previous',
    message: string,
  ) {
    super(message);
  }
}

export const dataPointerPath = (assetKey: string, partitionKey: string) =>
  `pointers/data/${assetKey}/${partitionPath(partitionKey)}/current_run.json`;
const historyPath = (assetKey: string, partitionKey: string, sequence: number) =>
  `pointers/data/${assetKey}/${partitionPath(partitionKey)}/history/${String(sequence).padStart(20, '0')}.json`;

export async function readPointer(objects: ObjectStore, assetKey: string, partitionKey: string) {
  const stored = await objects.get(dataPointerPath(assetKey, partitionKey));
  return stored
    ? {
        pointer: JSON.parse(stored.bytes.toString('utf8')) as DataPointer,
        generation: stored.generation,
        bytes: stored.bytes,
      }
    : null;
}

/** History newest first, read by known keys from the current sequence down. */
export async function pointerHistory(
  objects: ObjectStore,
  assetKey: string,
  partitionKey: string,
  limit = 50,
) {
  const current = await readPointer(objects, assetKey, partitionKey);
  const entries: DataPointer[] = [];
  for (let seq = current?.pointer.sequence ?? 0; seq >= 1 && entries.length < limit; seq--) {
    const stored = await objects.get(historyPath(assetKey, partitionKey, seq));
    if (stored) entries.push(JSON.parse(stored.bytes.toString('utf8')) as DataPointer);
  }
  return entries;
}

/**
 * Moves the pointer to `target` (spec §5.4): read, check the guard, write with the generation read, then
 * the history entry. `expectedSequence` makes an operator's move conditional on what they saw.
 */
export async function movePointer(
  objects: ObjectStore,
  assetKey: string,
  partitionKey: string,
  target: PointerTarget,
  move: {
    action: 'promote' | 'rollback';
    by: string;
    at: string;
    reason?: string;
    expectedSequence?: number;
    allowOlder?: boolean;
  },
): Promise<DataPointer> {
  const current = await readPointer(objects, assetKey, partitionKey);
  if (move.expectedSequence !== undefined && move.expectedSequence !== (current?.pointer.sequence ?? 0))
    throw new PointerError(
      'pointer_conflict',
      `the pointer is at sequence ${current?.pointer.sequence ?? 0}, not ${move.expectedSequence}`,
    );
  if (
    current &&
    move.action === 'promote' &&
    !move.allowOlder &&
    Date.parse(target.asOfTs) < Date.parse(current.pointer.asOfTs)
  )
    throw new PointerError(
      'older_than_current',
      `run ${target.runId} is as of ${target.asOfTs}, older than the current ${current.pointer.asOfTs}`,
    );
  const next: DataPointer = {
    pointerVersion: 'v1',
    kind: 'data',
    assetKey,
    partitionKey,
    sequence: (current?.pointer.sequence ?? 0) + 1,
    ...target,
    action: move.action,
    ...(move.reason ? { reason: move.reason } : {}),
    promotedAt: move.at,
    promotedBy: move.by,
    ...(current
      ? {
          previous: {
            sequence: current.pointer.sequence,
            runId: current.pointer.runId,
            manifestPath: current.pointer.manifestPath,
            promotedAt: current.pointer.promotedAt,
          },
          parentPointerHash: `sha256:${createHash('sha256').update(current.bytes).digest('hex')}`,
        }
      : {}),
  };
  const bytes = JSON.stringify(next, null, 2);
  const written = await objects.put(dataPointerPath(assetKey, partitionKey), bytes, {
    ifGenerationMatch: current?.generation ?? 0,
    contentType: 'application/json',
  });
  if (written.status !== 'written')
    throw new PointerError('pointer_conflict', 'the pointer moved concurrently; read it again');
  await objects.put(historyPath(assetKey, partitionKey, next.sequence), bytes, {
    ifGenerationMatch: 0,
    contentType: 'application/json',
  });
  return next;
}

/** Rollback target: `toSequence`, else the most recent entry of `toRunId`, else the current pointer's previous. */
export async function rollbackTarget(
  objects: ObjectStore,
  assetKey: string,
  partitionKey: string,
  to: { toSequence?: number; toRunId?: string },
) {
  const history = await pointerHistory(objects, assetKey, partitionKey, 1000);
  const current = history[0];
  if (!current) throw new PointerError('not_found', 'pointer not found');
  const target =
    to.toSequence !== undefined
      ? history.find((h) => h.sequence === to.toSequence)
      : to.toRunId
        ? history.find((h) => h.runId === to.toRunId && h.sequence !== current.sequence)
        : history.find((h) => h.sequence === current.previous?.sequence);
  if (!target) throw new PointerError('no_previous', 'no earlier pointer value to roll back to');
  return { current, target };
}
