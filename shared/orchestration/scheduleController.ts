import type { Scope } from '../auth/principal.ts';
import type { Dependencies } from '../runtime/dependencies.ts';
import type { EventData } from './events.ts';
import type { ProjectionSnapshot } from './projectionReader.ts';
import { dueTicks, type ScheduleDefinition, scheduleRunKey, tickDay, tickIdOf } from './scheduleTicks.ts';
import { TriggerError, triggerRun } from './triggerRun.ts';
import { appendVisible } from './visibility.ts';

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
