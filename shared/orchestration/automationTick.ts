import type { Scope } from '../auth/principal.ts';
import type { Dependencies } from '../runtime/dependencies.ts';
import { type BackfillPlanning, planBackfills } from './backfillController.ts';
import { compactorFor, readerFor } from './orchestrationServices.ts';
import { advancePipelineBackfills } from './pipelineBackfills.ts';
import { evaluateSchedules, type ScheduleEvaluation } from './scheduleController.ts';
import { pollSensors } from './sensorEvaluation.ts';
import { type SweepResult, sweepStuckTasks } from './sweeper.ts';

export interface TickResult {
  now: string;
  schedules: ScheduleEvaluation;
  sensors: { evaluated: number };
  backfills: BackfillPlanning;
  pipelines: { advanced: number };
  sweeper: SweepResult;
}

/**
 * One pass of the time-driven controllers for a workspace at `now` (spec README, automation tick):
 * schedules, poll sensors, backfill planning, then the stuck-task sweeper. It folds what is pending
 * first, so every controller decides on current projections; each appends with idempotency keys (tick
 * ids, eval ids, chunk indexes) and starts runs through run-key reservations, so a second tick at the
 * same `now` changes nothing.
 */
export async function runAutomationTick(deps: Dependencies, scope: Scope, now: Date): Promise<TickResult> {
  await compactorFor(deps, scope)
    .drain(2000)
    .catch(() => undefined);
  const snapshot = await readerFor(deps, scope).snapshot();
  const schedules = await evaluateSchedules(deps, scope, snapshot, now);
  const sensors = await pollSensors(deps, scope, snapshot, now);
  const fresh = await readerFor(deps, scope).snapshot();
  const backfills = await planBackfills(deps, scope, fresh);
  const pipelines = await advancePipelineBackfills(deps, scope, fresh);
  const sweeper = await sweepStuckTasks(deps, scope, now);
  const result = { now: now.toISOString(), schedules, sensors, backfills, pipelines, sweeper };
  deps.log.info('automation tick', {
    tenant: scope.tenant,
    workspace: scope.workspace,
    now: result.now,
    schedules,
    sensors,
    backfills,
    ...sweeper,
  });
  return result;
}
