/**
 * The pure fold of orchestration events into projections (orchestration spec §6–§11, §17; state spec B6):
 * each aggregate (run, schedule, sensor, backfill) folds its own event types; this file routes events to
 * them, applies the idempotency gate and orders events by id. No I/O and no clock.
 */
import { BACKFILL_HANDLERS } from '../backfill/evolve.ts';
import { RUN_HANDLERS } from '../run/evolve.ts';
import { SCHEDULE_HANDLERS } from '../schedule/evolve.ts';
import { SENSOR_HANDLERS } from '../sensor/evolve.ts';
import type { EventData, OrchestrationEvent } from './events.ts';
import { eventTimeMs } from './events.ts';
import type { FoldContext, HandlerTable } from './foldContext.ts';
import { ProjectionDraft } from './projectionDraft.ts';
import type { FoldState } from './projectionTables.ts';

// Each aggregate owns its event types; the table only routes, and names every type exactly once.
const HANDLERS = {
  ...RUN_HANDLERS,
  ...SCHEDULE_HANDLERS,
  ...SENSOR_HANDLERS,
  ...BACKFILL_HANDLERS,
} satisfies Record<EventData['type'], unknown>;

/**
 * How long, in ms of event time, an applied event's idempotency key dedupes a repeat (state spec B9
 * retention: idempotency keys are kept 30 days).
 */
export const IDEMPOTENCY_KEY_RETENTION_MS = 30 * 86_400_000;

/**
 * Folds one event into the draft. The idempotency gate comes first: a key recorded by an event less
 * than 30 days (event time) before this one skips it; a key is recorded only when the event changed
 * state, so a rejected event does not burn it. Unknown event types fold as no-ops (readers deploy
 * before writers emit new kinds).
 */
export function evolve(d: ProjectionDraft, event: OrchestrationEvent): void {
  const recorded = d.get('idempotency_keys', event.idempotencyKey);
  // The window is a rule of the two events' times alone, so whether a repeat folds never depends on
  // how events were batched or whether the compactor has pruned the key yet (it prunes a day later).
  if (
    recorded &&
    eventTimeMs(event) <
      eventTimeMs({ eventId: String(recorded.eventId), timestamp: String(recorded.recordedAt) }) +
        IDEMPOTENCY_KEY_RETENTION_MS
  )
    return;
  const handler = (HANDLERS as HandlerTable)[event.data.type as EventData['type']] as
    ((c: FoldContext, data: EventData) => void) | undefined;
  if (!handler) return;
  const timeMs = eventTimeMs(event);
  const before = d.changes;
  handler({ d, event, time: new Date(timeMs).toISOString(), timeMs }, event.data);
  if (d.changes === before) return;
  d.put('idempotency_keys', {
    tenantId: event.tenantId,
    workspaceId: event.workspaceId,
    idempotencyKey: event.idempotencyKey,
    eventId: event.eventId,
    eventType: event.eventType,
    recordedAt: event.timestamp,
    rowVersion: event.eventId,
  });
}

/**
 * Whether folding `event` into `state` now would change any row (a trial fold on a throwaway draft;
 * `state` is untouched). An event it is false for, such as an acknowledgement of a Cloud Task whose
 * task has started since, records nothing the state lacks.
 */
export function foldWouldChange(state: FoldState, event: OrchestrationEvent): boolean {
  const draft = new ProjectionDraft(state);
  evolve(draft, event);
  return draft.changes > 0;
}

/** Sorts by event id (never producer time), drops repeated ids, and folds into a new draft. */
export function foldIntoDraft(state: FoldState, events: OrchestrationEvent[]): ProjectionDraft {
  const draft = new ProjectionDraft(state);
  const seen = new Set<string>();
  for (const event of [...events].sort((a, b) =>
    a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0,
  )) {
    if (seen.has(event.eventId)) continue;
    seen.add(event.eventId);
    evolve(draft, event);
  }
  return draft;
}

/** The pure fold: `state` is left untouched. */
export function foldEvents(state: FoldState, events: OrchestrationEvent[]): FoldState {
  return foldIntoDraft(state, events).toState();
}
