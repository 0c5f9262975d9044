/**
 * The run aggregate's pure decisions (orchestration spec §20.5, pipeline-ops spec §3.4): given a
 * command and the run as last published, the events to append, or an ArcoError naming why not. No I/O
 * and no clock; the shells (cancelRun.ts, retryRun.ts) read the state, call these and append.
 */
import { ArcoError } from '../../core/arcoError.ts';
import type { AppendInput } from '../state/ledger.ts';
import type { RunRow, TaskRow } from './evolve.ts';
import { publicRunState } from './publicStates.ts';

/** `POST …/runs/{runId}/cancel`. */
export interface CancelCommand {
  runId: string;
  requestedBy: string;
  reason?: string;
}

/**
 * A cancel of `run`: one `run_cancel_requested`, or nothing when one was already requested (a repeated
 * cancel answers with the run as it stands). Throws not_found without a run, conflict for a run that
 * already ended.
 */
export function decideCancel(command: CancelCommand, run: RunRow | undefined): AppendInput[] {
  if (!run) throw new ArcoError('not_found', `run not found: ${command.runId}`);
  if (run.cancelRequested) return [];
  if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.state))
    throw new ArcoError('conflict', `run ${command.runId} is already in terminal state ${run.state}`);
  const { runId, requestedBy, reason } = command;
  return [{ data: { type: 'run_cancel_requested', runId, requestedBy, ...(reason ? { reason } : {}) } }];
}

/** The body of `POST …/runs/{runId}/retry`. */
export interface RetryRequest {
  taskKeys?: string[];
  causeFixed?: boolean;
  reason?: string;
}

/** An in-place retry of a run's FAILED tasks. */
export interface RetryCommand extends RetryRequest {
  runId: string;
  requestedBy: string;
}

/** A refusal of spec §3.4 with its `details.reason` (the command to use instead, where there is one). */
export class RetryRefused extends ArcoError {}

/**
 * An in-place retry (pipeline-ops spec §3.4) of `command.taskKeys`, or of every FAILED task when none
 * are named: one `run_retry_requested` naming each task's current attempt. Category A retries freely,
 * C only with `causeFixed` and a reason, B never (a step with side effects outside its run: rerun
 * instead). Throws RetryRefused (invalid_argument, not_found, conflict with `details.reason`).
 */
export function decideRetry(
  command: RetryCommand,
  state: { run: RunRow | undefined; tasks: TaskRow[] },
): { events: AppendInput[]; taskKeys: string[] } {
  const { runId } = command;
  if (command.causeFixed && !command.reason?.trim())
    throw new RetryRefused('invalid_argument', 'causeFixed needs a reason');
  const { run, tasks } = state;
  if (!run) throw new RetryRefused('not_found', `run not found: ${runId}`);
  if (publicRunState(run) !== 'FAILED' || run.cancelRequested)
    throw new RetryRefused('conflict', `run ${runId} is ${publicRunState(run)}, not FAILED`, {
      reason: 'run_not_failed',
    });
  const taskKeys = command.taskKeys?.length
    ? command.taskKeys
    : tasks.filter((t) => t.state === 'FAILED').map((t) => t.taskKey);
  const chosen = taskKeys.map((key) => tasks.find((t) => t.taskKey === key));
  const notFailed = taskKeys.filter((_, i) => chosen[i]?.state !== 'FAILED');
  if (notFailed.length)
    throw new RetryRefused('conflict', `not FAILED: ${notFailed.join(', ')}`, {
      reason: 'task_not_failed',
      taskKeys: notFailed,
    });
  const failed = chosen as TaskRow[];
  const categories = failed.map((t) => t.lastFailure?.retryCategory ?? 'C');
  if (categories.includes('B'))
    throw new RetryRefused(
      'conflict',
      'a step with side effects outside its run must be retried in a new run',
      {
        reason: 'retry_requires_new_run',
        command: `arco rerun ${runId} --from-failure`,
      },
    );
  if (categories.includes('C') && !command.causeFixed)
    throw new RetryRefused(
      'conflict',
      'category C failures are not retried blindly: fix the cause, then retry with causeFixed and a reason',
      { reason: 'cause_not_acknowledged', command: `arco retry ${runId} --cause-fixed --reason "…"` },
    );
  return {
    taskKeys,
    events: [
      {
        data: {
          type: 'run_retry_requested',
          runId,
          taskKeys,
          attempts: failed.map((t) => t.attempt),
          causeFixed: command.causeFixed ?? false,
          ...(command.reason ? { reason: command.reason } : {}),
          requestedBy: command.requestedBy,
        },
      },
    ],
  };
}
