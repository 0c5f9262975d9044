import type { Scope } from '../auth/principal.ts';
import type { Dependencies } from '../runtime/dependencies.ts';
import { type BackfillPlanning, planBackfills } from './backfill/backfillController.ts';
import { hintSenderFor, readerFor } from './orchestrationServices.ts';
import { advancePipelineBackfills } from './pipeline/pipelineBackfills.ts';
import { evaluateSchedules, type ScheduleEvaluation } from './schedule/scheduleController.ts';
import { pollSensors } from './sensor/sensorEvaluation.ts';
import { type SweepResult, sweepStuckTasks } from './run/sweeper.ts';

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
 * schedules, poll sensors, backfill planning, then the stuck-task sweeper. Controllers decide on the
 * published projections (at most about a publish interval behind); each appends with idempotency keys
 * (tick ids, eval ids, chunk indexes) and starts runs through run-key reservations, so a second tick at
 * the same `now`, or one that reads a state not yet showing the last tick's events, changes nothing.
 */
export async function runAutomationTick(deps: Dependencies, scope: Scope, now: Date): Promise<TickResult> {
  // Anti-entropy for lost hints: the compactor scans what is pending. The tick itself never compacts;
  // its controllers decide on the published state and are idempotent against its lag.
  await hintSenderFor(deps)({ tenant: scope.tenant, workspace: scope.workspace, batches: [] }).catch(
    (error: unknown) => deps.log.warn('tick could not hint the compactor', { error: String(error) }),
  );
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
