import type { EventData, OrchestrationEvent } from './events.ts';
import type { ProjectionDraft } from './projectionDraft.ts';

/** What a fold handler sees of one event: the draft it changes and the event's time (from its id). */
export interface FoldContext {
  d: ProjectionDraft;
  event: OrchestrationEvent;
  /** The event's time (its ULID's), ISO 8601. */
  time: string;
  timeMs: number;
}

/** Folds one event of type `T` into the draft; pure (no I/O, no clock). */
export type Handler<T extends EventData['type']> = (
  c: FoldContext,
  data: Extract<EventData, { type: T }>,
) => void;

/** Event type → handler, for the event types one aggregate owns; each handler narrows `data` itself. */
export type HandlerTable = Partial<Record<EventData['type'], (c: FoldContext, data: never) => void>>;
