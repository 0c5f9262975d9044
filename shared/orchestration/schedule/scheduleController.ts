import type { Scope } from '../../auth/principal.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import type { EventData } from '../state/events.ts';
import type { ProjectionSnapshot } from '../state/projectionReader.ts';
import { dueTicks, type ScheduleDefinition, scheduleRunKey, tickDay, tickIdOf } from './scheduleTicks.ts';
import {
  planPipelineRun,
  PipelineRunError,
  readPipelineBackfill,
  startPipelineRun,
} from '../pipeline/pipelineBackfills.ts';
import { TriggerError, triggerRun } from '../run/triggerRun.ts';
import { appendVisible } from '../state/visibility.ts';

export interface ScheduleEvaluation {
  triggered: number;
  skipped: number;
  failed: number;
}

/**
 * Spec §14.2 for every schedule of the workspace: each due tick of an enabled schedule starts its run
 * through the same run-key reservation as a manual trigger (`sched:{id}:{epoch}`), then the tick is
 * recorded with the run it started. A crash in between re-evaluates the tick next time and finds the
 * reservation, so a tick never starts a second run; the tick event itself is deduplicated by tick id.
 */
export async function evaluateSchedules(
  deps: Dependencies,
  scope: Scope,
  snapshot: ProjectionSnapshot,
  now: Date,
): Promise<ScheduleEvaluation> {
  const result: ScheduleEvaluation = { triggered: 0, skipped: 0, failed: 0 };
  const states = new Map((await snapshot.rows('schedule_state')).map((r) => [String(r.scheduleId), r]));
  const events: EventData[] = [];
  for (const row of await snapshot.rows('schedule_definitions')) {
    const definition = row as unknown as ScheduleDefinition;
    const base = {
      type: 'schedule_ticked' as const,
      scheduleId: definition.scheduleId,
      definitionVersion: definition.rowVersion,
      assetSelection: definition.assetSelection,
    };
    const due = dueTicks(
      definition,
      states.get(definition.scheduleId)?.lastScheduledFor as string | undefined,
      now,
    );
    if ('error' in due) {
      events.push({
        ...base,
        tickId: tickIdOf(definition.scheduleId, now),
        scheduledFor: now.toISOString(),
        status: 'FAILED',
        reason: due.error,
      });
      result.failed += 1;
      continue;
    }
    for (const at of due.ticks) {
      const tick = { ...base, tickId: tickIdOf(definition.scheduleId, at), scheduledFor: at.toISOString() };
      if (!definition.enabled) {
        events.push({ ...tick, status: 'SKIPPED', reason: 'paused' });
        result.skipped += 1;
        continue;
      }
      if (definition.pipeline) {
        events.push({ ...tick, ...(await tickPipeline(deps, scope, definition, tick.tickId, at)) });
        result.triggered += 1;
        continue;
      }
      const runKey = scheduleRunKey(definition.scheduleId, at);
      try {
        const { body, fingerprint } = await triggerRun(
          deps,
          scope,
          { cron: { scheduleId: definition.scheduleId, tickId: tick.tickId } },
          {
            selection: definition.assetSelection,
            runKey,
            ...(definition.partitionFromTick
              ? {
                  partitions: [
                    { key: definition.partitionFromTick, value: tickDay(at, definition.timezone) },
                  ],
                }
              : {}),
          },
        );
        deps.failpoints.hit('schedule.after_trigger');
        events.push({
          ...tick,
          status: 'TRIGGERED',
          runKey,
          runId: body.runId,
          requestFingerprint: fingerprint,
        });
        result.triggered += 1;
      } catch (error) {
        if (!(error instanceof TriggerError)) throw error;
        events.push({
          ...tick,
          status: 'FAILED',
          runKey,
          reason: error.message,
          ...(error.details ? { details: error.details } : {}),
        });
        result.failed += 1;
      }
    }
  }
  if (events.length)
    await appendVisible(
      deps,
      scope,
      events.map((data) => ({ data })),
    );
  return result;
}

/**
 * A pipeline's daily tick (pipeline-ops §1.1): the same code path as `pipeline run --start D --end D`,
 * keyed by the tick so a re-evaluated tick replays; a day that already has an active run is skipped
 * with `partition_busy` instead of starting a second one.
 */
async function tickPipeline(
  deps: Dependencies,
  scope: Scope,
  definition: ScheduleDefinition,
  tickId: string,
  at: Date,
) {
  const day = tickDay(at, definition.timezone);
  try {
    const plan = await planPipelineRun(deps, scope, definition.pipeline, { start: day, end: day });
    if (plan.rows[0]?.action === 'wait') return { status: 'SKIPPED', reason: 'partition_busy' };
    const { body } = await startPipelineRun(
      deps,
      scope,
      definition.pipeline,
      { start: day, end: day, clientRequestId: `tick:${tickId}` },
      `schedule:${definition.scheduleId}`,
    );
    const backfill = await readPipelineBackfill(deps, scope, (body as { backfillId: string }).backfillId);
    const row = backfill.partitions[0];
    return {
      status: 'TRIGGERED',
      runKey: `pipeline:${backfill.backfillId}:${row?.partitionKey}`,
      ...(row?.runId ? { runId: row.runId } : {}),
    };
  } catch (error) {
    if (!(error instanceof PipelineRunError)) throw error;
    return { status: 'FAILED', reason: error.message };
  }
}
