import type { Scope } from '../../auth/principal.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import type { RunRow, TaskRow } from './evolve.ts';
import { readerFor } from '../orchestrationServices.ts';
import { publicRunState, runResponse } from './runViews.ts';
import { appendVisible, READ_YOUR_WRITES_WAIT_MS } from '../state/visibility.ts';
import { ArcoError } from '../../core/arcoError.ts';

export interface RetryRequest {
  taskKeys?: string[];
  causeFixed?: boolean;
  reason?: string;
}

/** A refusal of spec §3.4 with its `details.reason` (the command to use instead, where there is one). */
export class RetryRefused extends ArcoError {}

/**
 * `POST …/runs/{runId}/retry` (pipeline-ops spec §3.4): retries FAILED tasks in place, under the same run
 * id, when their category allows it: A freely, C only once the operator says the cause is fixed, B never
 * (a step with side effects outside its run keeps the failed run intact: rerun instead).
 */
export async function retryRun(
  deps: Dependencies,
  scope: Scope,
  runId: string,
  request: RetryRequest,
  requestedBy: string,
) {
  if (request.causeFixed && !request.reason?.trim())
    throw new RetryRefused('invalid_argument', 'causeFixed needs a reason');
  const snapshot = await readerFor(deps, scope).snapshot();
  const run = (await snapshot.shardRows('runs', runId)).find((r) => r.runId === runId) as RunRow | undefined;
  if (!run) throw new RetryRefused('not_found', `run not found: ${runId}`);
  const tasks = ((await snapshot.shardRows('tasks', runId)) as unknown as TaskRow[]).filter(
    (t) => t.runId === runId,
  );
  if (publicRunState(run) !== 'FAILED' || run.cancelRequested)
    throw new RetryRefused('conflict', `run ${runId} is ${publicRunState(run)}, not FAILED`, {
      reason: 'run_not_failed',
    });
  const selected = request.taskKeys?.length
    ? request.taskKeys
    : tasks.filter((t) => t.state === 'FAILED').map((t) => t.taskKey);
  const chosen = selected.map((key) => tasks.find((t) => t.taskKey === key));
  const notFailed = selected.filter((_, i) => chosen[i]?.state !== 'FAILED');
  if (notFailed.length)
    throw new RetryRefused('conflict', `not FAILED: ${notFailed.join(', ')}`, {
      reason: 'task_not_failed',
      taskKeys: notFailed,
    });
  const categories = (chosen as TaskRow[]).map((t) => t.lastFailure?.retryCategory ?? 'C');
  if (categories.includes('B'))
    throw new RetryRefused(
      'conflict',
      'a step with side effects outside its run must be retried in a new run',
      {
        reason: 'retry_requires_new_run',
        command: `arco rerun ${runId} --from-failure`,
      },
    );
  if (categories.includes('C') && !request.causeFixed)
    throw new RetryRefused(
      'conflict',
      'category C failures are not retried blindly: fix the cause, then retry with causeFixed and a reason',
      {
        reason: 'cause_not_acknowledged',
        command: `arco retry ${runId} --cause-fixed --reason "…"`,
      },
    );
  // This answer is the run after the retry (read-your-writes, spec §3.4), so it waits for the publish
  // (about one publish interval) rather than the usual brief wait; it never compacts itself.
  const { visibility_status } = await appendVisible(
    deps,
    scope,
    [
      {
        data: {
          type: 'run_retry_requested',
          runId,
          taskKeys: selected,
          attempts: (chosen as TaskRow[]).map((t) => t.attempt),
          causeFixed: request.causeFixed ?? false,
          ...(request.reason ? { reason: request.reason } : {}),
          requestedBy,
        },
      },
    ],
    READ_YOUR_WRITES_WAIT_MS,
  );
  const after = await readerFor(deps, scope).snapshot();
  const published = (await after.shardRows('runs', runId)).find((r) => r.runId === runId) as RunRow;
  // Not published within the wait: the retry has reopened the run all the same.
  const reread: RunRow = visibility_status === 'visible' ? published : { ...published, state: 'RUNNING' };
  const edges = (await after.shardRows('dep_satisfaction', runId)).filter((e) => e.runId === runId);
  const retried = ((await after.shardRows('tasks', runId)) as unknown as TaskRow[]).filter(
    (t) => t.runId === runId,
  );
  return {
    ...runResponse(reread, retried, edges as never, scope.workspace),
    retriedTaskKeys: selected,
    visibility_status,
  };
}
