/**
 * The backfill aggregate's pure decisions (orchestration spec §16): state changes and the retry of a
 * failed backfill's partitions. No I/O and no clock; backfillCommands.ts reads, decides and appends.
 */
import type { AppendInput } from '../state/ledger.ts';
import { ArcoError } from '../../core/arcoError.ts';
import { canTransition, publicBackfillState } from './backfillPlan.ts';
import type { BackfillRow } from './evolve.ts';

/** `POST …/backfills` (spec §16.1): what to backfill, over which partitions, in chunks of what size. */
export interface BackfillRequest {
  assetSelection: string[];
  partitionSelector: Record<string, unknown>;
  clientRequestId?: string;
  chunkSize?: number;
  maxConcurrentRuns?: number;
}

/** A refused backfill command: not_found (unknown backfill), conflict (key reuse, invalid transition). */
export class BackfillCommandError extends ArcoError {}

/** Pause, resume or cancel (spec §16.2): the state to move to, who asks, and optionally the version seen. */
export interface BackfillStateCommand {
  backfillId: string;
  toState: string;
  changedBy: string;
  /** Refuse unless the backfill is still at this state version (optimistic concurrency). */
  expectedStateVersion?: number;
}

/**
 * The `backfill_state_changed` event moving `backfill` (its row as last published) to `toState` at the
 * next state version; the fold applies it only from the state and version it names. Throws conflict on
 * a stale `expectedStateVersion` or a transition the state machine does not allow.
 */
export function decideBackfillStateChange(
  command: BackfillStateCommand,
  backfill: Pick<BackfillRow, 'state' | 'stateVersion'>,
): AppendInput[] {
  const { backfillId, toState, changedBy, expectedStateVersion } = command;
  const version = backfill.stateVersion;
  if (expectedStateVersion !== undefined && expectedStateVersion !== version)
    throw new BackfillCommandError(
      'conflict',
      `backfill is at state version ${version}, not ${expectedStateVersion}`,
    );
  const fromState = backfill.state;
  if (!canTransition(fromState, toState))
    throw new BackfillCommandError(
      'conflict',
      `backfill ${backfillId} cannot go from ${publicBackfillState(fromState)} to ${toState}`,
    );
  return [
    {
      data: {
        type: 'backfill_state_changed',
        backfillId,
        fromState,
        toState,
        stateVersion: version + 1,
        changedBy,
      },
    },
  ];
}

/**
 * Spec §16.5: the request of a new backfill over exactly the failed chunks' partitions of a FAILED
 * parent, under a client request id derived from the parent and the caller's retry id (so a repeated
 * retry is the same backfill). Throws conflict unless the parent FAILED.
 */
export function decideRetryFailed(
  parentId: string,
  retryRequestId: string,
  parent: Pick<BackfillRow, 'state' | 'assetSelection' | 'chunkSize' | 'maxConcurrentRuns'>,
  chunks: Array<{ state: string; partitionKeys: string[] }>,
): BackfillRequest {
  if (parent.state !== 'FAILED')
    throw new BackfillCommandError(
      'conflict',
      `only a FAILED backfill can retry its failed partitions; ${parentId} is ${parent.state}`,
    );
  const partitions = [
    ...new Set(chunks.filter((c) => c.state === 'FAILED').flatMap((c) => c.partitionKeys)),
  ].sort();
  return {
    assetSelection: parent.assetSelection,
    partitionSelector: { type: 'explicit', partitions },
    clientRequestId: `backfill_retry:${parentId}:${retryRequestId}`,
    chunkSize: parent.chunkSize,
    maxConcurrentRuns: parent.maxConcurrentRuns,
  };
}
