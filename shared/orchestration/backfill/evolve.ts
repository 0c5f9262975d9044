/** The backfill aggregate's part of the pure fold (orchestration spec §16): backfills, their chunks and state transitions. */
import { canTransition } from './backfillPlan.ts';
import type { Handler, HandlerTable, RowOf } from '../state/foldContext.ts';

/** `backfills`: a backfill's request, where it is in its state machine, and its chunk counters. */
export type BackfillRow = RowOf<
  'backfill_created',
  {
    state: string;
    stateVersion: number;
    plannedChunks: number;
    completedChunks: number;
    failedChunks: number;
    createdAt: string;
  }
>;

/** `backfill_chunks`: one chunk of partitions and the run it started (or why it could not). */
export type BackfillChunkRow = RowOf<'backfill_chunk_planned', { state: string }>;

const onBackfillCreated: Handler<'backfill_created'> = (c, data) => {
  if (c.d.get('backfills', data.backfillId)) return;
  const { type: _type, ...fields } = data;
  c.d.put('backfills', {
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    ...fields,
    // Spec §16.2: a created backfill starts RUNNING at state version 1 (PENDING is never observed).
    state: 'RUNNING',
    stateVersion: 1,
    plannedChunks: 0,
    completedChunks: 0,
    failedChunks: 0,
    createdAt: c.time,
    rowVersion: c.event.eventId,
  } satisfies BackfillRow);
};

const onBackfillChunkPlanned: Handler<'backfill_chunk_planned'> = (c, data) => {
  const backfill = c.d.get<BackfillRow>('backfills', data.backfillId);
  if (!backfill || c.d.get('backfill_chunks', data.chunkId)) return;
  const { type: _type, ...fields } = data;
  c.d.put('backfill_chunks', {
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    ...fields,
    state: 'PLANNED',
    rowVersion: c.event.eventId,
  } satisfies BackfillChunkRow);
  c.d.put('backfills', {
    ...backfill,
    plannedChunks: backfill.plannedChunks + 1,
    rowVersion: c.event.eventId,
  });
};

const onBackfillStateChanged: Handler<'backfill_state_changed'> = (c, data) => {
  const backfill = c.d.get<BackfillRow>('backfills', data.backfillId);
  if (!backfill) return;
  // Transitions apply in state_version order and only from the state they name (a rejected one
  // does not consume its idempotency key).
  if (data.stateVersion !== backfill.stateVersion + 1 || data.fromState !== backfill.state) return;
  // Ledgers from before CANCELING existed cancel straight to `CANCELLED`; the API calls that CANCELED.
  const legacyCancel = data.toState === 'CANCELLED' && canTransition(data.fromState, 'CANCELING');
  const toState = data.toState === 'CANCELLED' ? 'CANCELED' : data.toState;
  if (!legacyCancel && !canTransition(data.fromState, toState)) return;
  c.d.put('backfills', {
    ...backfill,
    state: toState,
    stateVersion: data.stateVersion,
    rowVersion: c.event.eventId,
  });
};

/** The backfill aggregate's event handlers. */
export const BACKFILL_HANDLERS = {
  backfill_created: onBackfillCreated,
  backfill_chunk_planned: onBackfillChunkPlanned,
  backfill_state_changed: onBackfillStateChanged,
} satisfies HandlerTable;
