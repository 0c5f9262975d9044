/** The schedule aggregate's part of the pure fold (orchestration spec §14): definitions, ticks and each schedule's state. */
import type { Handler, HandlerTable } from '../state/foldContext.ts';

const onScheduleDefinition: Handler<'schedule_definition_upserted'> = (c, data) => {
  const existing = c.d.get('schedule_definitions', data.scheduleId);
  const { type: _type, ...fields } = data;
  c.d.put('schedule_definitions', {
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    ...fields,
    createdAt: (existing?.createdAt as string) ?? c.time,
    rowVersion: c.event.eventId,
  });
};

const onScheduleTicked: Handler<'schedule_ticked'> = (c, data) => {
  if (c.d.get('schedule_ticks', data.tickId)) return;
  const { type: _type, ...fields } = data;
  c.d.put('schedule_ticks', {
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    ...fields,
    rowVersion: c.event.eventId,
  });
  const state = c.d.get('schedule_state', data.scheduleId);
  if (state && String(state.lastScheduledFor ?? '') > data.scheduledFor) return;
  c.d.put('schedule_state', {
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    scheduleId: data.scheduleId,
    lastScheduledFor: data.scheduledFor,
    lastTickId: data.tickId,
    ...(data.runKey ? { lastRunKey: data.runKey } : {}),
    rowVersion: c.event.eventId,
  });
};

/** The schedule aggregate's event handlers. */
export const SCHEDULE_HANDLERS = {
  schedule_definition_upserted: onScheduleDefinition,
  schedule_ticked: onScheduleTicked,
} satisfies HandlerTable;
