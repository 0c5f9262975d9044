import type { Scope } from '../../auth/principal.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { readerFor } from '../orchestrationServices.ts';
import { appendVisible } from '../state/visibility.ts';
import { type CancelCommand, decideCancel } from './decide.ts';
import type { RunRow } from './evolve.ts';
import { publicRunState } from './publicStates.ts';

/**
 * `POST …/runs/{runId}/cancel` (orchestration spec §20.5): appends the cancel `decideCancel` decides and
 * answers `{runId, state, cancelledAt, visibility_status}`; until the cancel is published the state is
 * the run's as it now stands (cancel requested). A repeated cancel appends nothing and answers the run.
 */
export async function cancelRun(deps: Dependencies, scope: Scope, command: CancelCommand) {
  const { runId } = command;
  const read = async () =>
    ((await (await readerFor(deps, scope).snapshot()).rowsOf('runs', runId)) as RunRow[]).find(
      (r) => r.runId === runId,
    );
  const run = await read();
  const events = decideCancel(command, run);
  if (!events.length)
    return { runId, state: publicRunState(run!), cancelledAt: run!.completedAt ?? run!.triggeredAt };
  const { visibility_status } = await appendVisible(deps, scope, events);
  const after = (visibility_status === 'visible' ? await read() : undefined) ?? {
    ...run!,
    cancelRequested: true,
  };
  return {
    runId,
    state: publicRunState(after),
    cancelledAt: deps.clock.now().toISOString(),
    visibility_status,
  };
}
