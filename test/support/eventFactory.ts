import { monotonicFactory } from 'ulid';
import { type EventData, envelope, type OrchestrationEvent } from '../../shared/orchestration/events.ts';

/** Mints envelopes with strictly increasing ULIDs at a controllable time, as a server would. */
export function eventFactory(
  tenantId = 't',
  workspaceId = 'w',
  startMs = Date.parse('2026-11-23T10:00:00Z'),
) {
  const ulid = monotonicFactory();
  let nowMs = startMs;
  return {
    advance(ms: number) {
      nowMs += ms;
    },
    at: () => nowMs,
    event(data: EventData, overrides: { idempotencyKey?: string } = {}): OrchestrationEvent {
      return envelope({
        eventId: ulid(nowMs),
        tenantId,
        workspaceId,
        timestamp: new Date(nowMs),
        data,
        ...overrides,
      });
    },
  };
}
