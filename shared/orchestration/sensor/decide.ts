/**
 * The sensor aggregate's pure decisions (orchestration spec §15): the identity of an evaluation and the
 * `sensor_evaluated` event that records what it found and which runs it asked for. No I/O and no clock;
 * sensorEvaluation.ts calls the evaluator, triggers the runs and appends what this decides.
 */
import type { AppendInput } from '../state/ledger.ts';
import type { SensorStateRow } from './evolve.ts';

/** A message a push sensor received (Pub/Sub): its id is the evaluation's identity and cursor. */
export interface SensorMessage {
  messageId: string;
  payload?: unknown;
  attributes?: Record<string, string>;
}

/** What an evaluator asks for: one run per request, deduplicated by its run key. */
export interface RunRequest {
  runKey: string;
  assetSelection: string[];
  partitionKey?: string;
  /** A raw partition value of the sensor's `partitionKeyAttribute` (a day for daily assets). */
  partitionValue?: string;
}

/** A run request with what became of it: the run it started, or the trigger's refusal. */
export type RecordedRunRequest = RunRequest & {
  runId?: string;
  requestFingerprint?: string;
  error?: string;
  details?: Record<string, unknown>;
};

/** One evaluation: of a push message, or a poll at a tick time. */
export type SensorInput = { message: SensorMessage } | { pollAt: Date };

export type SensorEvalStatus = 'TRIGGERED' | 'NO_NEW_DATA' | 'ERROR';

/** The evaluation's id: `{sensor}:msg:{messageId}` or `{sensor}:poll:{epoch seconds}` (so a retry is the same one). */
export function sensorEvalId(sensorId: string, input: SensorInput): string {
  return 'message' in input
    ? `${sensorId}:msg:${input.message.messageId}`
    : `${sensorId}:poll:${Math.floor(input.pollAt.getTime() / 1000)}`;
}

/**
 * The status of an evaluation and its `sensor_evaluated` event, from the sensor's state as last
 * published, what the evaluator answered (`cursorAfter`, or the `error` it failed with) and the run
 * requests as triggered. TRIGGERED when it asked for runs, ERROR when it failed or every run it asked for
 * was refused, else NO_NEW_DATA. A poll names the state version it read, so the fold records a poll
 * that lost a race without moving the cursor (spec §15.3).
 */
export function decideSensorEvaluation(
  sensorId: string,
  input: SensorInput,
  state: Pick<SensorStateRow, 'cursor' | 'stateVersion'> | undefined,
  evaluated: { cursorAfter?: string; error?: string },
  runRequests: RecordedRunRequest[],
): { status: SensorEvalStatus; errorMessage?: string; events: AppendInput[] } {
  let status: SensorEvalStatus = evaluated.error ? 'ERROR' : runRequests.length ? 'TRIGGERED' : 'NO_NEW_DATA';
  let errorMessage = evaluated.error;
  if (status === 'TRIGGERED' && runRequests.every((r) => r.error)) {
    status = 'ERROR';
    errorMessage = runRequests.map((r) => r.error).join('; ');
  }
  const cursorBefore = state?.cursor;
  const pollEpoch = 'pollAt' in input ? Math.floor(input.pollAt.getTime() / 1000) : undefined;
  const event: AppendInput = {
    data: {
      type: 'sensor_evaluated',
      sensorId,
      evalId: sensorEvalId(sensorId, input),
      ...(cursorBefore !== undefined ? { cursorBefore } : {}),
      ...('message' in input
        ? { cursorAfter: input.message.messageId }
        : {
            cursorAfter: evaluated.cursorAfter ?? cursorBefore,
            expectedStateVersion: state?.stateVersion ?? 0,
          }),
      triggerSource:
        'message' in input
          ? { push: { messageId: input.message.messageId }, messageId: input.message.messageId }
          : { poll: { pollEpoch }, pollEpoch },
      runRequests,
      status,
      ...(errorMessage ? { message: errorMessage } : {}),
    },
  };
  return { status, ...(errorMessage ? { errorMessage } : {}), events: [event] };
}
