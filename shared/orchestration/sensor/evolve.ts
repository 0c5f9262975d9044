/** The sensor aggregate's part of the pure fold (orchestration spec §15): evaluations and each sensor's cursor and state. */
import type { Handler, HandlerTable } from '../state/foldContext.ts';

const onSensorEvaluated: Handler<'sensor_evaluated'> = (c, data) => {
  const state = c.d.get('sensor_state', data.sensorId);
  const version = Number(state?.stateVersion ?? 0);
  // A poll evaluation made against an older cursor version lost the race: record it, move nothing.
  const stale = data.expectedStateVersion !== undefined && data.expectedStateVersion !== version;
  const { type: _type, ...fields } = data;
  c.d.put('sensor_evals', {
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    ...fields,
    status: stale ? 'skipped_stale_cursor' : data.status,
    evaluatedAt: c.time,
    rowVersion: c.event.eventId,
  });
  if (stale) return;
  c.d.put('sensor_state', {
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    sensorId: data.sensorId,
    ...(data.cursorAfter !== undefined
      ? { cursor: data.cursorAfter }
      : state?.cursor !== undefined
        ? { cursor: state.cursor }
        : {}),
    lastEvaluationAt: c.time,
    // The tick time a poll ran for: the interval is measured on it, so an injected `now` works too.
    ...(typeof (data.triggerSource as { pollEpoch?: number }).pollEpoch === 'number'
      ? { lastPollAt: new Date((data.triggerSource as { pollEpoch: number }).pollEpoch * 1000).toISOString() }
      : state?.lastPollAt
        ? { lastPollAt: state.lastPollAt }
        : {}),
    lastEvalId: data.evalId,
    // Spec §15.3: an evaluation error is recorded on the eval; it does not change the sensor's status.
    status: (state?.status as string | undefined) ?? 'ACTIVE',
    stateVersion: version + 1,
    rowVersion: c.event.eventId,
  });
};

/** The sensor aggregate's event handlers. */
export const SENSOR_HANDLERS = {
  sensor_evaluated: onSensorEvaluated,
} satisfies HandlerTable;
