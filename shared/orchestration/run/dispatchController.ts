import type { Scope } from '../../auth/principal.ts';
import { mapLimit } from '../../core/mapLimit.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { DISPATCH_QUEUE, TIMER_QUEUE } from '../../runtime/resources.ts';
import { attemptIdOf, cloudTaskName, dispatchIdOf, retryTimerIdOf, taskIdOf } from './dispatchIds.ts';
import { envelope, type EventData } from '../state/events.ts';
import { foldWouldChange } from '../state/evolve.ts';
import { isTerminal, type RunRow, type TaskRow } from './evolve.ts';
import { partitionValues } from '../partitionKeys.ts';
import { partitionPath, stepManifestPath } from '../pipeline/stepManifests.ts';
import { type FoldState, keyOf } from '../state/projectionTables.ts';
import type { RetryTimer } from './taskCallbacks.ts';
import type { AppendInput } from '../state/ledger.ts';
import { mintTaskToken } from './taskToken.ts';

const TOKEN_TTL_SECONDS = 3600;

/**
 * The intent to dispatch attempt `attempt` of a task (orchestration spec §10.4): its dispatch id,
 * attempt id and Cloud Task name all derive from (run, task, attempt), so asking twice is harmless.
 */
export function dispatchRequest(runId: string, taskKey: string, attempt: number): EventData {
  const dispatchId = dispatchIdOf(runId, taskKey, attempt);
  return {
    type: 'dispatch_requested',
    runId,
    taskKey,
    attempt,
    attemptId: attemptIdOf(dispatchId),
    workerQueue: DISPATCH_QUEUE,
    dispatchId,
  };
}

/** The most dispatches one batched event names (a ledger object stays small). */
const DISPATCHES_PER_EVENT = 200;

/**
 * The controller's dispatch intents and acknowledgements as few ledger events: more than one
 * `dispatch_requested` (or `dispatch_enqueued`) become `dispatches_requested` (`dispatches_enqueued`)
 * events of up to 200, so a fan-out of a thousand costs a few writes instead of a thousand. Other
 * events come first, in their order (each names another task, so the order between them is free).
 */
export function batchedDispatchEvents(events: EventData[]): EventData[] {
  const requested = events.filter((e) => e.type === 'dispatch_requested');
  const enqueued = events.filter((e) => e.type === 'dispatch_enqueued');
  const chunks = <T>(list: T[]) =>
    Array.from({ length: Math.ceil(list.length / DISPATCHES_PER_EVENT) }, (_, i) =>
      list.slice(i * DISPATCHES_PER_EVENT, (i + 1) * DISPATCHES_PER_EVENT),
    );
  const strip = <T extends { type: string }>({ type: _type, ...rest }: T) => rest;
  return [
    ...events.filter(
      (e) =>
        !(e.type === 'dispatch_requested' && requested.length > 1) &&
        !(e.type === 'dispatch_enqueued' && enqueued.length > 1),
    ),
    ...(requested.length > 1
      ? chunks(requested).map((group) => ({
          type: 'dispatches_requested' as const,
          dispatches: group.map(strip),
        }))
      : []),
    ...(enqueued.length > 1
      ? chunks(enqueued).map((group) => ({
          type: 'dispatches_enqueued' as const,
          dispatches: group.map(strip),
        }))
      : []),
  ];
}

/**
 * The ready-dispatch, dispatcher and retry-timer controllers (orchestration spec §10.4), run on the
 * compactor's warm state for the tasks a fold changed (readiness comes from this cycle's events, never
 * from scanning a run). They only append events (through `append`, durable before it returns) and
 * create named Cloud Tasks; running them twice is harmless (fold idempotency keys and Cloud Task name
 * dedup). A READY task gets its intent appended; once that intent is folded (the next round), the
 * DISPATCHED task is enqueued, and `acknowledge` gets the `dispatch_enqueued` events that record it
 * (by default appended at once, batched; the compactor defers them to its publish).
 */
export async function reconcileDispatches(
  deps: Dependencies,
  scope: Scope,
  state: FoldState,
  changes: { tasks?: Iterable<string>; timers?: Iterable<string> },
  append: (events: EventData[]) => Promise<void>,
  acknowledge: (acks: EventData[]) => void | Promise<void> = (acks) => append(batchedDispatchEvents(acks)),
): Promise<void> {
  const intents: EventData[] = [];
  const taskKeys = new Set(changes.tasks ?? []);
  // A fired retry timer: the next attempt is due if the task still waits for it.
  for (const timerId of changes.timers ?? []) {
    const timer = state.timers.get(timerId);
    if (timer?.state !== 'FIRED' || timer.timerType !== 'RETRY') continue;
    const key = keyOf(String(timer.runId), String(timer.taskKey));
    const task = state.tasks.get(key) as TaskRow | undefined;
    if (task?.state !== 'RETRY_WAIT' || task.attempt !== timer.attempt) continue;
    if (!state.dispatch_outbox.get(dispatchIdOf(task.runId, task.taskKey, task.attempt + 1)))
      intents.push(dispatchRequest(task.runId, task.taskKey, task.attempt + 1));
  }
  const acks: EventData[] = [];
  const enqueues: Array<{ run: RunRow; task: TaskRow; dispatchId: string }> = [];
  const now = deps.clock.now();
  for (const key of taskKeys) {
    const task = state.tasks.get(key) as TaskRow | undefined;
    if (!task || isTerminal(task.state)) continue;
    const { runId, taskKey } = task;
    const run = state.runs.get(runId) as RunRow | undefined;
    if (
      !run ||
      run.cancelRequested ||
      run.state === 'SUCCEEDED' ||
      run.state === 'FAILED' ||
      run.state === 'CANCELLED'
    )
      continue;
    // A task without a worker cannot be sent anywhere; it stays READY until a manifest names one.
    if (task.state === 'READY' && task.workerUrl) {
      const attempt = Math.max(task.attempt, 1);
      if (!state.dispatch_outbox.get(dispatchIdOf(runId, taskKey, attempt)))
        intents.push(dispatchRequest(runId, taskKey, attempt));
    }
    if (task.state === 'DISPATCHED') {
      const dispatchId = dispatchIdOf(runId, taskKey, task.attempt);
      const outbox = state.dispatch_outbox.get(dispatchId);
      if (outbox?.status === 'PENDING') enqueues.push({ run, task, dispatchId });
    }
    if (task.state === 'RETRY_WAIT' && task.attempt < task.maxAttempts && task.retryNotBefore) {
      const fireAtMs = Date.parse(task.retryNotBefore);
      const timerId = retryTimerIdOf(runId, taskKey, task.attempt, fireAtMs);
      if (!state.timers.get(timerId)) {
        const cloudTaskId = cloudTaskName('t', timerId);
        const enqueued = await deps.tasks
          .enqueue({
            queue: TIMER_QUEUE,
            name: cloudTaskId,
            url: `${deps.config.publicBaseUrl}/internal/timers/fire`,
            body: {
              tenantId: scope.tenant,
              workspaceId: scope.workspace,
              timerId,
              runId,
              taskKey,
              attempt: task.attempt,
            } satisfies RetryTimer,
            scheduleTime: new Date(fireAtMs),
            oidcServiceAccount: deps.config.tasksServiceAccount,
          })
          .then(
            () => true,
            (error: unknown) => {
              // No timer recorded: the sweeper starts the retry once its deadline has passed.
              deps.log.warn('retry timer not enqueued', { timerId, error: String(error) });
              return false;
            },
          );
        if (enqueued)
          intents.push({
            type: 'timer_requested',
            timerId,
            timerType: 'RETRY',
            runId,
            taskKey,
            attempt: task.attempt,
            fireAt: task.retryNotBefore,
            cloudTaskId,
          });
      }
    }
  }
  // Intents first: a failed Cloud Task below must not cost the other tasks their dispatch.
  if (intents.length) await append(batchedDispatchEvents(intents));
  // A fan-out enqueues hundreds at once; Cloud Tasks takes them in parallel.
  await mapLimit(enqueues, 32, async ({ run, task, dispatchId }) => {
    const cloudTaskId = await enqueueDispatch(deps, scope, run, task, dispatchId, now.getTime()).catch(
      (error: unknown) => {
        // Left PENDING in the outbox: the sweeper creates it again (a duplicate name is refused).
        deps.log.warn('dispatch not enqueued; the sweeper retries it', { dispatchId, error: String(error) });
        return null;
      },
    );
    if (cloudTaskId)
      acks.push({
        type: 'dispatch_enqueued',
        dispatchId,
        runId: task.runId,
        taskKey: task.taskKey,
        attempt: task.attempt,
        cloudTaskId,
      });
  });
  // Acknowledgements only stop the sweeper from creating the task again (a duplicate name is refused).
  if (acks.length) await acknowledge(acks);
}

/**
 * The acknowledgements (`dispatch_enqueued`) worth writing against `state`, batched: one whose task has
 * started or finished since (its outbox row is gone) would fold as a no-op, so with an instant worker
 * a deferred acknowledgement is usually not written at all. Each is tried as an event stamped now.
 */
export function acknowledgementsStillNeeded(
  deps: Pick<Dependencies, 'clock' | 'ids'>,
  scope: Scope,
  state: FoldState,
  acks: EventData[],
): EventData[] {
  const now = deps.clock.now();
  const needed = acks.filter((data) =>
    foldWouldChange(
      state,
      envelope({
        eventId: deps.ids.next(now.getTime()),
        tenantId: scope.tenant,
        workspaceId: scope.workspace,
        timestamp: now,
        data,
      }),
    ),
  );
  return batchedDispatchEvents(needed);
}

/**
 * `payload.pipeline` of a pipeline run's dispatch (pipeline-ops spec §1.3): the partition, the as-of the
 * worker must read at, the exact upstream runs to read (never "the newest directory"), and the prefixes
 * it may write under.
 */
function pipelinePayload(deps: Dependencies, scope: Scope, run: RunRow, task: TaskRow) {
  const labels = run.labels ?? {};
  if (!labels['arco.pipeline'] || !task.partitionKey) return {};
  const assetKey = task.assetKey ?? task.taskKey;
  const runPrefix = `gs://${deps.config.bucket}/tenant=${scope.tenant}/workspace=${scope.workspace}/data/${assetKey}/${partitionPath(task.partitionKey)}/run=${run.runId}/`;
  return {
    pipeline: {
      name: labels['arco.pipeline'],
      partitionKey: task.partitionKey,
      partitionValues: partitionValues(task.partitionKey),
      asOf: {
        mode: labels['arco.as_of_mode'],
        ts: labels['arco.as_of_ts'],
        clamped: labels['arco.as_of_clamped'] === 'true',
      },
      runMode: labels['arco.run_mode'],
      // In-run dependencies read this run; steps a partial rerun did not re-execute read the run pinned
      // for them when the run was planned (never "the newest directory").
      upstream: Object.fromEntries([
        ...Object.entries(JSON.parse(labels['arco.pipeline_upstream'] ?? '{}') as Record<string, string>).map(
          ([dep, runId]) => [dep, { runId, manifestPath: stepManifestPath(dep, task.partitionKey, runId) }],
        ),
        ...task.dependsOn.map((dep) => [
          dep,
          { runId: run.runId, manifestPath: stepManifestPath(dep, task.partitionKey, run.runId) },
        ]),
      ]),
      ...(labels['arco.pipeline_params']
        ? { params: JSON.parse(labels['arco.pipeline_params']) as Record<string, string> }
        : {}),

      models: Object.fromEntries(
        Object.entries(labels)
          .filter(([key]) => key.startsWith('arco.model.'))
          .map(([key, value]) => {
            const name = key.slice('arco.model.'.length);
            const [runId, sequence] = value.split('@');
            return [
              name,
              { runId, sequence: Number(sequence), artifactUri: labels[`arco.model_uri.${name}`] },
            ];
          }),
      ),
      outputPrefix: runPrefix,
      stagingPrefix: `${runPrefix}_staging/${task.attemptId}/`,
    },
  };
}

/**
 * The stuck-dispatch repair (orchestration spec §10.3, names §19): the dispatch envelope of the task's
 * current attempt, the same as its first, created again under a new Cloud Task name, since the original
 * cannot be used again once its task ran: `d_` + hash of `{dispatchId}:repair:{outboxRowVersion}`. The
 * spec adds a fresh ULID; without it two ticks that repair the same row (overlapping, or a retry) meet
 * Cloud Tasks' dedup instead of sending the task twice. Returns the `dispatch_enqueued` event that
 * records the new Cloud Task (it moves the row's version, so a later repair gets a new name), keyed
 * `dispatch_repair_ack:{cloudTaskId}` since the first acknowledgement's key would dedupe it; null when
 * the task has no worker URL. Throws what Cloud Tasks throws.
 */
export async function repairStuckDispatch(
  deps: Dependencies,
  scope: Scope,
  run: RunRow,
  task: TaskRow,
  outbox: { dispatchId: string; rowVersion: string },
  nowMs: number,
): Promise<AppendInput | null> {
  const name = cloudTaskName('d', `${outbox.dispatchId}:repair:${outbox.rowVersion}`);
  const cloudTaskId = await enqueueDispatch(deps, scope, run, task, outbox.dispatchId, nowMs, name);
  if (!cloudTaskId) return null;
  return {
    data: {
      type: 'dispatch_enqueued',
      dispatchId: outbox.dispatchId,
      runId: task.runId,
      taskKey: task.taskKey,
      attempt: task.attempt,
      cloudTaskId,
    },
    idempotencyKey: `dispatch_repair_ack:${cloudTaskId}`,
  };
}

async function enqueueDispatch(
  deps: Dependencies,
  scope: Scope,
  run: RunRow,
  task: TaskRow,
  dispatchId: string,
  nowMs: number,
  name = cloudTaskName('d', dispatchId),
): Promise<string | null> {
  if (!task.workerUrl) {
    deps.log.warn('task has no worker URL; declare workerUrl on the manifest', {
      runId: task.runId,
      taskKey: task.taskKey,
    });
    return null;
  }
  const taskId = taskIdOf(task.runId, task.taskKey);
  const envelopeClaims = {
    taskId,
    tenantId: scope.tenant,
    workspaceId: scope.workspace,
    runId: task.runId,
    attempt: task.attempt,
    attemptId: task.attemptId!,
  };
  const claims = {
    ...envelopeClaims,
    taskKey: task.taskKey,
    ...(task.assetKey ? { assetKey: task.assetKey } : {}),
    ...(task.partitionKey ? { partitionKey: task.partitionKey } : {}),
    ...(run.labels?.['arco.pipeline'] ? { pipeline: run.labels['arco.pipeline'] } : {}),
    ...(run.labels?.['arco.as_of_mode'] ? { asOfMode: run.labels['arco.as_of_mode'] } : {}),
  };
  const ttl = Math.max(TOKEN_TTL_SECONDS, task.heartbeatTimeoutSec + 300);
  await deps.tasks.enqueue({
    queue: DISPATCH_QUEUE,
    name,
    url: task.workerUrl,
    body: {
      ...envelopeClaims,
      taskKey: task.taskKey,
      dispatchId,
      ...(task.assetKey ? { assetKey: task.assetKey } : {}),
      ...(task.partitionKey ? { partitionKey: task.partitionKey } : {}),
      heartbeatTimeoutSec: task.heartbeatTimeoutSec,
      workerQueue: DISPATCH_QUEUE,
      callbackBaseUrl: deps.config.publicBaseUrl,
      taskToken: await mintTaskToken(deps.config.taskTokenSecret, claims, nowMs, ttl),
      tokenExpiresAt: new Date(nowMs + ttl * 1000).toISOString(),
      payload: { ...task.payload, ...pipelinePayload(deps, scope, run, task) },
    },
    oidcServiceAccount: deps.config.tasksServiceAccount,
  });
  return name;
}
