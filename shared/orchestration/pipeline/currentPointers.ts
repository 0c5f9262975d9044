import { createHash } from 'node:crypto';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import { partitionPath } from './stepManifests.ts';
import { ArcoError } from '../../core/arcoError.ts';

/**
 * "Current" pointers (pipeline-ops spec §5): data pointers per (asset, partition), moved after a run's
 * checks passed, and model pointers per model name, moved by operators. Each is one small JSON object
 * moved only by compare-and-swap on its GCS generation, with a create-only history entry per move;
 * rollback is a forward move to an older target, so history stays append-only.
 */
export type PointerRef =
  { kind: 'data'; assetKey: string; partitionKey: string } | { kind: 'model'; name: string };

/** What a pointer points at: a run's output (data) or a model artifact (model). */
export type PointerTarget =
  | {
      runId: string;
      manifestPath: string;
      outputs: Array<Record<string, unknown>>;
      asOfTs: string;
      codeVersion: string | null;
    }
  | { runId: string; artifactUri: string; meta: Record<string, unknown>; smokeRunId?: string };

export type Pointer = PointerTarget & {
  pointerVersion: 'v1';
  kind: 'data' | 'model';
  assetKey?: string;
  partitionKey?: string;
  name?: string;
  sequence: number;
  action: 'promote' | 'rollback';
  reason?: string;
  promotedAt: string;
  promotedBy: string;
  previous?: { sequence: number; runId: string; promotedAt: string };
  parentPointerHash?: string;
};

/** A refused pointer move: `not_found` when there is nothing to move, a conflict otherwise. */
export class PointerError extends ArcoError {
  constructor(
    readonly reason: 'pointer_conflict' | 'older_than_current' | 'not_found' | 'no_previous',
    message: string,
  ) {
    super(reason === 'not_found' ? 'not_found' : 'conflict', message, { reason });
  }
}

const base = (ref: PointerRef) =>
  ref.kind === 'data'
    ? `pointers/data/${ref.assetKey}/${partitionPath(ref.partitionKey)}`
    : `pointers/models/${ref.name}`;
export const pointerPath = (ref: PointerRef) => `${base(ref)}/current_run.json`;
const historyPath = (ref: PointerRef, sequence: number) =>
  `${base(ref)}/history/${String(sequence).padStart(20, '0')}.json`;

export async function readPointer(objects: ObjectStore, ref: PointerRef) {
  const stored = await objects.get(pointerPath(ref));
  return stored
    ? {
        pointer: JSON.parse(stored.bytes.toString('utf8')) as Pointer,
        generation: stored.generation,
        bytes: stored.bytes,
      }
    : null;
}

/** History newest first, read by known keys from the current sequence down (never a listing). */
export async function pointerHistory(objects: ObjectStore, ref: PointerRef, limit = 50) {
  const current = await readPointer(objects, ref);
  const entries: Pointer[] = [];
  for (let seq = current?.pointer.sequence ?? 0; seq >= 1 && entries.length < limit; seq--) {
    const stored = await objects.get(historyPath(ref, seq));
    if (stored) entries.push(JSON.parse(stored.bytes.toString('utf8')) as Pointer);
  }
  return entries;
}

/**
 * Moves a pointer (spec §5.4): read, check the guards, write with the generation read, then the
 * history entry. `expectedSequence` makes an operator's move conditional on what they saw; a data
 * pointer never moves to an older as-of unless `allowOlder`.
 */
export async function movePointer(
  objects: ObjectStore,
  ref: PointerRef,
  target: PointerTarget,
  move: {
    action: 'promote' | 'rollback';
    by: string;
    at: string;
    reason?: string;
    expectedSequence?: number;
    allowOlder?: boolean;
  },
): Promise<Pointer> {
  const current = await readPointer(objects, ref);
  if (move.expectedSequence !== undefined && move.expectedSequence !== (current?.pointer.sequence ?? 0))
    throw new PointerError(
      'pointer_conflict',
      `the pointer is at sequence ${current?.pointer.sequence ?? 0}, not ${move.expectedSequence}`,
    );
  const older =
    current &&
    'asOfTs' in target &&
    'asOfTs' in current.pointer &&
    Date.parse(target.asOfTs) < Date.parse(current.pointer.asOfTs);
  if (older && move.action === 'promote' && !move.allowOlder)
    throw new PointerError(
      'older_than_current',
      `run ${target.runId} is older than the current pointer's as-of`,
    );
  const next = {
    pointerVersion: 'v1',
    kind: ref.kind,
    ...(ref.kind === 'data'
      ? { assetKey: ref.assetKey, partitionKey: ref.partitionKey }
      : { name: ref.name }),
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
            promotedAt: current.pointer.promotedAt,
          },
          parentPointerHash: `sha256:${createHash('sha256').update(current.bytes).digest('hex')}`,
        }
      : {}),
  } as Pointer;
  const bytes = JSON.stringify(next, null, 2);
  const written = await objects.put(pointerPath(ref), bytes, {
    ifGenerationMatch: current?.generation ?? 0,
    contentType: 'application/json',
  });
  if (written.status !== 'written')
    throw new PointerError('pointer_conflict', 'the pointer moved concurrently; read it again');
  await objects.put(historyPath(ref, next.sequence), bytes, {
    ifGenerationMatch: 0,
    contentType: 'application/json',
  });
  return next;
}

/** Rollback target: `toSequence`, else the most recent entry of `toRunId`, else the current pointer's previous. */
export async function rollbackTarget(
  objects: ObjectStore,
  ref: PointerRef,
  to: { toSequence?: number; toRunId?: string },
) {
  const history = await pointerHistory(objects, ref, 1000);
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

/** The target fields of a stored pointer, to move another pointer (a rollback) to the same place. */
export function targetOf(pointer: Pointer): PointerTarget {
  return 'artifactUri' in pointer
    ? {
        runId: pointer.runId,
        artifactUri: pointer.artifactUri,
        meta: pointer.meta,
        ...(pointer.smokeRunId ? { smokeRunId: pointer.smokeRunId } : {}),
      }
    : {
        runId: pointer.runId,
        manifestPath: pointer.manifestPath,
        outputs: pointer.outputs,
        asOfTs: pointer.asOfTs,
        codeVersion: pointer.codeVersion,
      };
}
