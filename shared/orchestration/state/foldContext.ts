import type { EventData, OrchestrationEvent } from './events.ts';
import type { ProjectionDraft } from './projectionDraft.ts';
import type { Row } from './projectionTables.ts';

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

/**
 * A projection row written from one event type's fields (its `type` dropped), with its owner, the id of
 * the event that last wrote it (`rowVersion`) and the fields the fold adds (`Extra`).
 */
export type RowOf<T extends EventData['type'], Extra extends object = object> = Row & {
  tenantId: string;
  workspaceId: string;
} & Omit<Extract<EventData, { type: T }>, 'type'> &
  Extra;
