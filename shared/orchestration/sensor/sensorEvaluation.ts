import { internalAuthorization } from '../../auth/outboundIdentity.ts';
import type { Scope } from '../../auth/principal.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import type { SensorDeclaration } from '../codeLocationManifest.ts';
import { ManifestStore } from '../manifestStore.ts';
import { readerFor } from '../orchestrationServices.ts';
import type { ProjectionSnapshot } from '../state/projectionReader.ts';
import type { Row } from '../state/projectionTables.ts';
import { TriggerError, triggerRun } from '../run/triggerRun.ts';
import { appendVisible } from '../state/visibility.ts';
import { ArcoError } from '../../core/arcoError.ts';
import {
  decideSensorEvaluation,
  type RecordedRunRequest,
  type RunRequest,
  sensorEvalId,
  type SensorEvalStatus,
  type SensorMessage,
} from './decide.ts';
import type { SensorStateRow } from './evolve.ts';

export interface SensorEvalResult {
  evalId: string;
  messageId?: string;
  status: SensorEvalStatus;
  errorMessage?: string;
  runRequests: RecordedRunRequest[];
  eventsWritten: number;
  warning?: string;
}

/** No sensor of that id in the latest manifest. */
export class UnknownSensorError extends ArcoError {
  constructor(message: string) {
    super('not_found', message);
  }
}

/** The sensor as deployed with the latest manifest. */
export async function declaredSensor(
  deps: Dependencies,
  scope: Scope,
  sensorId: string,
): Promise<SensorDeclaration> {
  const sensor = (await new ManifestStore(deps.documents, scope).latest())?.sensors?.find(
    (s) => s.id === sensorId,
  );
  if (!sensor) throw new UnknownSensorError(`sensor not found: ${sensorId}`);
  return sensor;
}

/** The evaluator contract of spec §15.5: built in for push sensors, else the declared evaluator URL. */
async function runEvaluator(
  deps: Dependencies,
  scope: Scope,
  sensor: SensorDeclaration,
  input: { message?: SensorMessage; cursor?: string },
): Promise<{ runRequests: RunRequest[]; cursorAfter?: string }> {
  if (!sensor.evaluatorUrl) {
    if (!input.message) return { runRequests: [] };
    const attribute = sensor.partitionKeyAttribute;
    const value = attribute ? input.message.attributes?.[attribute] : undefined;
    return {
      runRequests: [
        {
          runKey: `sensor:${sensor.id}:${input.message.messageId}`,
          assetSelection: sensor.assetSelection,
          ...(value ? { partitionValue: value } : {}),
        },
      ],
    };
  }
  const response = await fetch(sensor.evaluatorUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: await internalAuthorization(deps, scope, sensor.evaluatorUrl),
    },
    body: JSON.stringify({ sensorId: sensor.id, cursor: input.cursor, message: input.message }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`evaluator answered ${response.status}`);
  const body = (await response.json()) as { runRequests?: unknown; cursorAfter?: unknown };
  if (
    !Array.isArray(body.runRequests) ||
    body.runRequests.some((r) => typeof r?.runKey !== 'string' || !Array.isArray(r?.assetSelection))
  )
    throw new Error(
      'evaluator answer must be {runRequests: [{runKey, assetSelection, partitionKey?}], cursorAfter?}',
    );
  return {
    runRequests: body.runRequests as RunRequest[],
    ...(typeof body.cursorAfter === 'string' ? { cursorAfter: body.cursorAfter } : {}),
  };
}

/**
 * One sensor evaluation (spec §15.1–15.2): a push message (deduplicated by message id: a redelivery
 * writes nothing and starts nothing) or a poll at `pollAt` from the stored cursor. Every run request goes
 * through the run-key reservation, so a request seen twice never starts a second run.
 */
export async function evaluateSensor(
  deps: Dependencies,
  scope: Scope,
  sensor: SensorDeclaration,
  input: { message: SensorMessage } | { pollAt: Date },
  snapshot?: ProjectionSnapshot,
): Promise<SensorEvalResult> {
  const view = snapshot ?? (await readerFor(deps, scope).snapshot());
  const state = (await view.rowsOf('sensor_state', sensor.id)).find((r) => r.sensorId === sensor.id) as
    SensorStateRow | undefined;
  const push = 'message' in input;
  const evalId = sensorEvalId(sensor.id, input);
  const previous = (await view.rowsOf('sensor_evals', sensor.id)).find((r) => r.evalId === evalId);
  if (previous) return { ...evalResult(previous), eventsWritten: 0 };

  const cursorBefore = state?.cursor as string | undefined;
  let failure: string | undefined;
  let evaluated: { runRequests: RunRequest[]; cursorAfter?: string } = { runRequests: [] };
  try {
    evaluated = await runEvaluator(
      deps,
      scope,
      sensor,
      push ? { message: input.message } : { cursor: cursorBefore },
    );
  } catch (error) {
    failure = (error as Error).message;
  }
  const runRequests: RecordedRunRequest[] = [];
  for (const request of evaluated.runRequests) {
    try {
      const { body, fingerprint } = await triggerRun(
        deps,
        scope,
        { sensor: { sensorId: sensor.id, evalId } },
        {
          selection: request.assetSelection,
          runKey: request.runKey,
          ...(request.partitionKey ? { partitionKey: request.partitionKey } : {}),
          ...(request.partitionValue && sensor.partitionKeyAttribute
            ? { partitions: [{ key: sensor.partitionKeyAttribute, value: request.partitionValue }] }
            : {}),
        },
      );
      deps.failpoints.hit('sensor.after_trigger');
      runRequests.push({ ...request, runId: body.runId, requestFingerprint: fingerprint });
    } catch (error) {
      if (!(error instanceof TriggerError)) throw error;
      runRequests.push({
        ...request,
        error: error.message,
        ...(error.details ? { details: error.details } : {}),
      });
    }
  }
  const { status, errorMessage, events } = decideSensorEvaluation(
    sensor.id,
    input,
    state,
    {
      ...(evaluated.cursorAfter !== undefined ? { cursorAfter: evaluated.cursorAfter } : {}),
      ...(failure ? { error: failure } : {}),
    },
    runRequests,
  );
  await appendVisible(deps, scope, events);
  return {
    evalId,
    ...(push ? { messageId: input.message.messageId } : {}),
    status,
    ...(errorMessage ? { errorMessage } : {}),
    runRequests,
    eventsWritten: 1,
  };
}

function evalResult(row: Row): Omit<SensorEvalResult, 'eventsWritten'> {
  const source = row.triggerSource as { messageId?: string };
  return {
    evalId: String(row.evalId),
    ...(source?.messageId ? { messageId: source.messageId } : {}),
    status: row.status as SensorEvalResult['status'],
    ...(row.message ? { errorMessage: String(row.message) } : {}),
    runRequests: (row.runRequests as SensorEvalResult['runRequests']) ?? [],
  };
}

/** Poll sensors whose interval has passed (spec §15.2), evaluated once each at `now`. */
export async function pollSensors(deps: Dependencies, scope: Scope, snapshot: ProjectionSnapshot, now: Date) {
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  let evaluated = 0;
  for (const sensor of manifest?.sensors ?? []) {
    if (sensor.kind !== 'poll' || !sensor.evaluatorUrl) continue;
    const state = (await snapshot.rowsOf('sensor_state', sensor.id)).find((r) => r.sensorId === sensor.id);
    if (state && state.status !== 'ACTIVE') continue;
    const last = state?.lastPollAt ? Date.parse(String(state.lastPollAt)) : 0;
    if (now.getTime() - last < (sensor.minIntervalSeconds ?? 30) * 1000) continue;
    await evaluateSensor(deps, scope, sensor, { pollAt: now }, snapshot);
    evaluated += 1;
  }
  return { evaluated };
}
