import type { Scope } from '../auth/principal.ts';
import type { Dependencies } from '../runtime/dependencies.ts';
import { compactorFor } from './orchestrationServices.ts';
import { type SweepResult, sweepStuckTasks } from './sweeper.ts';

export interface TickResult {
  now: string;
  sweeper: SweepResult;
}

/**
 * One pass of the time-driven controllers for a workspace at `now` (spec README, automation tick).
 * Today that is the stuck-task sweeper; schedules, sensors and backfills join it as they land.
 * It folds what is pending first, so it decides on current projections.
 */
export async function runAutomationTick(deps: Dependencies, scope: Scope, now: Date): Promise<TickResult> {
  await compactorFor(deps, scope)
    .drain(2000)
    .catch(() => undefined);
  const sweeper = await sweepStuckTasks(deps, scope, now);
  deps.log.info('automation tick', {
    tenant: scope.tenant,
    workspace: scope.workspace,
    now: now.toISOString(),
    ...sweeper,
  });
  return { now: now.toISOString(), sweeper };
}
