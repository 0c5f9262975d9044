import type { Scope } from '../../auth/principal.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import type { RunRow, TaskRow } from './evolve.ts';
import { readerFor } from '../orchestrationServices.ts';
import { runResponse } from './runViews.ts';
import { appendVisible, READ_YOUR_WRITES_WAIT_MS } from '../state/visibility.ts';
import { decideRetry, type RetryRequest } from './decide.ts';

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
  const snapshot = await readerFor(deps, scope).snapshot();
  const run = (await snapshot.rowsOf('runs', runId)).find((r) => r.runId === runId) as RunRow | undefined;
  const tasks = ((await snapshot.rowsOf('tasks', runId)) as unknown as TaskRow[]).filter(
    (t) => t.runId === runId,
  );
  const { events, taskKeys: selected } = decideRetry({ ...request, runId, requestedBy }, { run, tasks });
  // This answer is the run after the retry (read-your-writes, spec §3.4), so it waits for the publish
  // (about one publish interval) rather than the usual brief wait; it never compacts itself.
  const { visibility_status } = await appendVisible(deps, scope, events, READ_YOUR_WRITES_WAIT_MS);
  const after = await readerFor(deps, scope).snapshot();
  const published = (await after.rowsOf('runs', runId)).find((r) => r.runId === runId) as RunRow;
  // Not published within the wait: the retry has reopened the run all the same.
  const reread: RunRow = visibility_status === 'visible' ? published : { ...published, state: 'RUNNING' };
  const edges = (await after.rowsOf('dep_satisfaction', runId)).filter((e) => e.runId === runId);
  const retried = ((await after.rowsOf('tasks', runId)) as unknown as TaskRow[]).filter(
    (t) => t.runId === runId,
  );
  return {
    ...runResponse(reread, retried, edges as never, scope.workspace),
    retriedTaskKeys: selected,
    visibility_status,
  };
}
