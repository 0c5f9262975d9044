import type { Scope } from '../../auth/principal.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { parseTaskId } from './dispatchIds.ts';
import type { EventData, TaskErrorInfo } from '../state/events.ts';
import { isTerminal, type RunRow, type TaskRow } from './evolve.ts';
import { classifyFailure, retryCategory } from './failureClassification.ts';
import { ManifestStore } from '../manifestStore.ts';
import { ledgerFor, readerFor } from '../orchestrationServices.ts';
import { sideEffectsOf } from '../pipeline/pipelineDeclarations.ts';
import { TaskTokenError, verifyTaskToken } from './taskToken.ts';
import { ArcoError, type ErrorCode } from '../../core/arcoError.ts';

export type CallbackKind = 'started' | 'heartbeat' | 'completed';

/** A callback may judge by a published snapshot this old (ms); anything newer it judges by its token. */
const CALLBACK_SNAPSHOT_MAX_AGE_MS = 250;

export interface CallbackBody {
  attempt: number;
  attemptId: string;
  workerId?: string;
  progressPct?: number;
  message?: string;
  outcome?: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  output?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: TaskErrorInfo;
}

/**
 * A callback refusal, answered in the worker-facing body `{error, message, …extra}` (spec §18.3) rather
 * than the API's error body: `error` is the spec's refusal name.
 */
export class CallbackError extends ArcoError {
  constructor(
    code: ErrorCode,
    readonly error: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(code, message, extra);
  }
}

/** Validates a worker callback in the spec's order and appends its event; answers once it is durable. */
export async function handleTaskCallback(
  deps: Dependencies,
  kind: CallbackKind,
  taskId: string,
  bearer: string | undefined,
  body: CallbackBody,
): Promise<Record<string, unknown>> {
  if (body.attempt === 0)
    throw new CallbackError('invalid_argument', 'invalid_argument', 'attempt must be at least 1');
  if (
    kind === 'heartbeat' &&
    body.progressPct !== undefined &&
    (body.progressPct < 0 || body.progressPct > 100)
  )
    throw new CallbackError('invalid_argument', 'invalid_argument', 'progressPct must be between 0 and 100');
  const ids = parseTaskId(taskId);
  if (!ids) throw new CallbackError('not_found', 'task_not_found', `task not found: ${taskId}`);
  if (!bearer) throw new CallbackError('unauthenticated', 'invalid_token', 'missing task token');
  let claims;
  try {
    claims = await verifyTaskToken(deps.config.taskTokenSecret, bearer);
  } catch (error) {
    throw new CallbackError(
      'unauthenticated',
      'invalid_token',
      error instanceof TaskTokenError ? error.message : 'invalid token',
    );
  }
  if (claims.taskId !== taskId)
    throw new CallbackError('unauthenticated', 'invalid_token', 'token is for another task');
  const scope = { tenant: claims.tenantId, workspace: claims.workspaceId };
  const snapshot = await readerFor(deps, scope).snapshot(CALLBACK_SNAPSHOT_MAX_AGE_MS);
  const run = (await snapshot.rowsOf('runs', ids.runId)).find((r) => r.runId === ids.runId) as
    RunRow | undefined;
  // The run's slice count says which slice holds the task.
  const published = (await snapshot.rowsBeside('tasks', { ...ids, runSlices: run?.taskSlices })).find(
    (t) => t.runId === ids.runId && t.taskKey === ids.taskKey,
  ) as TaskRow | undefined;
  // Projections are published on a cadence, so a worker may call back before its dispatch is visible.
  // The token is the orchestrator's own signed record of that dispatch: judge such a callback by it
  // and let the fold, which sees the current state, ignore it if it no longer applies.
  const lagging =
    claims.runId === ids.runId &&
    (!published ||
      published.attempt < claims.attempt ||
      // A manual retry reopens the task at the next attempt before its dispatch names the attempt id.
      (published.attempt === claims.attempt &&
        published.attemptId !== claims.attemptId &&
        (published.state === 'READY' || published.state === 'RETRY_WAIT')));
  const task: TaskRow | undefined = lagging
    ? ({
        ...(published ?? {}),
        runId: ids.runId,
        taskKey: ids.taskKey,
        state: 'DISPATCHED',
        attempt: claims.attempt,
        attemptId: claims.attemptId,
        ...(claims.assetKey ? { assetKey: claims.assetKey } : {}),
        ...(claims.partitionKey ? { partitionKey: claims.partitionKey } : {}),
      } as TaskRow)
    : published;
  if (!task) {
    deps.log.warn('callback for a task not in the published projection', {
      taskId,
      runId: ids.runId,
      taskKey: ids.taskKey,
      manifestId: snapshot.manifest?.manifest_id,
    });
    throw new CallbackError('not_found', 'task_not_found', `task not found: ${taskId}`);
  }
  if (isTerminal(task.state)) {
    if (kind === 'heartbeat')
      throw new CallbackError('gone', 'task_expired', 'the task is already terminal', { state: task.state });
    throw new CallbackError('conflict', 'task_already_terminal', 'the task is already terminal', {
      state: task.state,
    });
  }
  const mismatch = { expectedAttempt: task.attempt, receivedAttempt: body.attempt };
  if (kind === 'started' && task.state === 'RETRY_WAIT' && body.attempt === task.attempt)
    throw new CallbackError(
      'conflict',
      'attempt_already_completed',
      'this attempt already completed',
      mismatch,
    );
  if (body.attempt !== task.attempt)
    throw new CallbackError('conflict', 'attempt_mismatch', 'not the current attempt', mismatch);
  if (body.attemptId !== task.attemptId)
    throw new CallbackError('conflict', 'attempt_id_mismatch', 'not the current attempt id', {
      expectedAttemptId: task.attemptId,
      receivedAttemptId: body.attemptId,
    });
  if (claims.runId !== task.runId || claims.attempt !== task.attempt || claims.attemptId !== task.attemptId)
    throw new CallbackError('unauthenticated', 'invalid_token', 'token is for another attempt');
  if (kind === 'started' && run?.cancelRequested)
    throw new CallbackError('conflict', 'task_already_terminal', 'the run was cancelled', {
      state: 'CANCELLED',
    });
  const judgedRun: RunRow | undefined =
    run ??
    (claims.pipeline || claims.asOfMode
      ? ({
          runId: ids.runId,
          labels: {
            ...(claims.pipeline ? { 'arco.pipeline': claims.pipeline } : {}),
            ...(claims.asOfMode ? { 'arco.as_of_mode': claims.asOfMode } : {}),
          },
        } as unknown as RunRow)
      : undefined);

  const facts = {
    runId: task.runId,
    taskKey: task.taskKey,
    attempt: body.attempt,
    attemptId: body.attemptId,
    workerId: body.workerId ?? 'worker',
  };
  const serverTime = deps.clock.now().toISOString();
  let data: EventData;
  if (kind === 'started') data = { type: 'task_started', ...facts };
  else if (kind === 'heartbeat')
    data = {
      type: 'task_heartbeat',
      ...facts,
      heartbeatAt: serverTime,
      ...(body.progressPct !== undefined ? { progressPct: body.progressPct } : {}),
    };
  else {
    const output = body.output ?? body.result;
    const reported = (body.outcome ?? 'SUCCEEDED').toLowerCase() as 'succeeded' | 'failed' | 'cancelled';
    const { outcome, error } = await judgeCompletion(
      deps,
      scope,
      task,
      judgedRun,
      reported,
      body.error,
      output,
    );
    data = {
      type: 'task_completion_recorded',
      ...facts,
      outcome,
      ...(output ? { output } : {}),
      ...(error ? { error, errorMessage: error.message ?? '' } : {}),
      ...(task.assetKey ? { assetKey: task.assetKey } : {}),
      ...(task.partitionKey ? { partitionKey: task.partitionKey } : {}),
    };
  }
  // Durable, then answered: a callback never waits for a compaction or a publish. A start decides
  // nothing, so it wakes no one: the compactor's next pass (any hint, its scans, the automation tick)
  // folds it. Completions make tasks ready; heartbeats must reach the sweeper's view in time.
  await ledgerFor(deps, scope, { hint: kind !== 'started' }).append([{ data }]);
  if (kind === 'completed')
    deps.log.info('task completed', {
      runId: task.runId,
      taskKey: task.taskKey,
      attempt: body.attempt,
      outcome: body.outcome ?? 'SUCCEEDED',
      ...(data.type === 'task_completion_recorded' && data.error
        ? {
            errorCategory: data.error.category,
            failureClass: data.error.failureClass,
            retryCategory: data.error.retryCategory,
          }
        : {}),
    });
  if (kind === 'heartbeat')
    return {
      acknowledged: true,
      shouldCancel: run?.cancelRequested === true,
      ...(run?.cancelRequested ? { cancelReason: 'user_requested' } : {}),
      serverTime,
    };
  if (kind === 'completed')
    return { acknowledged: true, finalState: body.outcome ?? 'SUCCEEDED', serverTime };
  return { acknowledged: true, serverTime };
}

/** The payload of a retry timer's Cloud Task (dispatchController.ts writes it). */
export interface RetryTimer {
  tenantId: string;
  workspaceId: string;
  timerId: string;
  runId: string;
  taskKey: string;
  attempt: number;
}

/**
 * A retry deadline passed: records that the timer fired and answers. The compactor's dispatch
 * controller, on its current state, requests the next attempt if the task still waits for it.
 */
export async function fireRetryTimer(deps: Dependencies, timer: RetryTimer) {
  const scope = { tenant: timer.tenantId, workspace: timer.workspaceId };
  return ledgerFor(deps, scope).append([
    {
      data: {
        type: 'timer_fired',
        timerId: timer.timerId,
        timerType: 'RETRY',
        runId: timer.runId,
        taskKey: timer.taskKey,
        attempt: timer.attempt,
      },
    },
  ]);
}

interface ReportedCheck {
  name: string;
  kind?: string;
  status: string;
  blocking?: boolean;
  observed?: unknown;
  expected?: unknown;
}

/**
 * The platform's verdict on a completion (pipeline-ops spec §2.3, §3): a blocking check that failed
 * turns a reported success into a non-retryable failure (the "validate, then promote" gate), and every
 * failure is classified once, here, with its retry category for the step's pipeline.
 */
async function judgeCompletion(
  deps: Dependencies,
  scope: Scope,
  task: TaskRow,
  run: RunRow | undefined,
  reported: 'succeeded' | 'failed' | 'cancelled',
  reportedError: TaskErrorInfo | undefined,
  output: Record<string, unknown> | undefined,
): Promise<{ outcome: 'succeeded' | 'failed' | 'cancelled'; error?: TaskErrorInfo }> {
  const checks = ((output?.manifest as { checks?: ReportedCheck[] } | undefined)?.checks ?? []).filter(
    (check) => check.status === 'fail' && check.blocking !== false,
  );
  if (reported === 'succeeded' && checks.length === 0) return { outcome: reported };
  if (reported === 'cancelled')
    return { outcome: reported, ...(reportedError ? { error: reportedError } : {}) };
  const contract = checks.find((check) => check.kind === 'schema' || check.kind === 'contract');
  const error: TaskErrorInfo =
    reported === 'succeeded'
      ? {
          category: 'DATA_QUALITY',
          code: 'blocking_check_failed',
          message: `blocking check ${checks.map((c) => c.name).join(', ')} failed${checks[0]!.observed !== undefined ? `: observed ${JSON.stringify(checks[0]!.observed)}, expected ${JSON.stringify(checks[0]!.expected)}` : ''}`,
          retryable: false,
        }
      : (reportedError ?? { message: 'task failed' });
  const classification = classifyFailure(
    error,
    reported === 'succeeded' ? (contract ? 'CONTRACT_VIOLATION' : 'DATA_QUALITY') : undefined,
  );
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  const pipeline = manifest?.pipelines?.find((p) => p.name === run?.labels?.['arco.pipeline']);
  return {
    outcome: 'failed',
    error: {
      ...error,
      failureClass: classification.failureClass,
      ...(classification.code ? { code: classification.code } : {}),
      ...(classification.signature ? { signature: classification.signature } : {}),
      retryable: classification.retryable,
      classifiedBy: classification.classifiedBy,
      retryCategory: retryCategory(
        classification,
        sideEffectsOf(pipeline, task.assetKey ?? task.taskKey),
        run?.labels?.['arco.as_of_mode'] ?? 'now',
      ),
    },
  };
}
