/** The sensor aggregate's part of the pure fold (orchestration spec §15): evaluations and each sensor's cursor and state. */
import type { Handler, HandlerTable, RowOf } from '../state/foldContext.ts';
import type { Row } from '../state/projectionTables.ts';

/** `sensor_evals`: one evaluation, what it found and the runs it asked for (`skipped_stale_cursor` if it lost a race). */
export type SensorEvalRow = RowOf<'sensor_evaluated', { evaluatedAt: string }>;

/** `sensor_state`: a sensor's cursor and status, versioned so a poll that read an older one moves nothing. */
export interface SensorStateRow extends Row {
  tenantId: string;
  workspaceId: string;
  sensorId: string;
  cursor?: string;
  lastEvaluationAt: string;
  /** The tick time of the last poll (the poll interval is measured on it). */
  lastPollAt?: string;
  lastEvalId: string;
  status: string;
  stateVersion: number;
}

const onSensorEvaluated: Handler<'sensor_evaluated'> = (c, data) => {
  const state = c.d.get<SensorStateRow>('sensor_state', data.sensorId);
  const version = state?.stateVersion ?? 0;
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
  } satisfies SensorEvalRow);
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
    status: state?.status ?? 'ACTIVE',
    stateVersion: version + 1,
    rowVersion: c.event.eventId,
  } satisfies SensorStateRow);
};

/** The sensor aggregate's event handlers. */
export const SENSOR_HANDLERS = {
  sensor_evaluated: onSensorEvaluated,
} satisfies HandlerTable;
