/** The schedule aggregate's part of the pure fold (orchestration spec §14): definitions, ticks and each schedule's state. */
import type { Handler, HandlerTable, RowOf } from '../state/foldContext.ts';
import type { Row } from '../state/projectionTables.ts';

/** `schedule_definitions`: a schedule's settings as last upserted, and when it was first defined. */
export type ScheduleDefinitionRow = RowOf<'schedule_definition_upserted', { createdAt: string }>;

/** `schedule_ticks`: one evaluation of a schedule at a scheduled time, and the run it asked for. */
export type ScheduleTickRow = RowOf<'schedule_ticked'>;

/** `schedule_state`: where a schedule's ticking has got to. */
export interface ScheduleStateRow extends Row {
  tenantId: string;
  workspaceId: string;
  scheduleId: string;
  lastScheduledFor: string;
  lastTickId: string;
  lastRunKey?: string;
}

const onScheduleDefinition: Handler<'schedule_definition_upserted'> = (c, data) => {
  const existing = c.d.get<ScheduleDefinitionRow>('schedule_definitions', data.scheduleId);
  const { type: _type, ...fields } = data;
  c.d.put('schedule_definitions', {
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    ...fields,
    createdAt: existing?.createdAt ?? c.time,
    rowVersion: c.event.eventId,
  } satisfies ScheduleDefinitionRow);
};

const onScheduleTicked: Handler<'schedule_ticked'> = (c, data) => {
  if (c.d.get('schedule_ticks', data.tickId)) return;
  const { type: _type, ...fields } = data;
  c.d.put('schedule_ticks', {
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    ...fields,
    rowVersion: c.event.eventId,
  } satisfies ScheduleTickRow);
  const state = c.d.get<ScheduleStateRow>('schedule_state', data.scheduleId);
  if (state && state.lastScheduledFor > data.scheduledFor) return;
  c.d.put('schedule_state', {
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    scheduleId: data.scheduleId,
    lastScheduledFor: data.scheduledFor,
    lastTickId: data.tickId,
    ...(data.runKey ? { lastRunKey: data.runKey } : {}),
    rowVersion: c.event.eventId,
  } satisfies ScheduleStateRow);
};

/** The schedule aggregate's event handlers. */
export const SCHEDULE_HANDLERS = {
  schedule_definition_upserted: onScheduleDefinition,
  schedule_ticked: onScheduleTicked,
} satisfies HandlerTable;
