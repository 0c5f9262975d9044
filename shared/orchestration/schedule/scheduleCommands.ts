import type { Scope } from '../../auth/principal.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import type { CodeLocationManifest } from '../codeLocationManifest.ts';
import type { AppendInput } from '../state/ledger.ts';
import { readerFor } from '../orchestrationServices.ts';
import type { Row } from '../state/projectionTables.ts';
import { decideScheduleUpsert, definitionEvent, sameSettings, type ScheduleInput } from './decide.ts';
import { type ScheduleDefinition } from './scheduleTicks.ts';
import { appendVisible } from '../state/visibility.ts';

export type { ScheduleInput } from './decide.ts';

/** A schedule's definition and state as last published, with the snapshot they came from. */
export async function readSchedule(deps: Dependencies, scope: Scope, scheduleId: string) {
  const snapshot = await readerFor(deps, scope).snapshot();
  const find = async (table: 'schedule_definitions' | 'schedule_state') =>
    (await snapshot.rowsOf(table, scheduleId)).find((r) => r.scheduleId === scheduleId);
  return {
    snapshot,
    definition: (await find('schedule_definitions')) as (Row & ScheduleDefinition) | undefined,
    state: await find('schedule_state'),
  };
}

/** ScheduleResponse of spec §20.6; optional fields are omitted when absent. */
export function scheduleView(definition: Row, state: Row | undefined) {
  return {
    scheduleId: definition.scheduleId,
    cronExpression: definition.cronExpression,
    timezone: definition.timezone,
    catchupWindowMinutes: definition.catchupWindowMinutes,
    maxCatchupTicks: definition.maxCatchupTicks,
    assetSelection: definition.assetSelection,
    enabled: definition.enabled,
    ...(definition.partitionFromTick ? { partitionFromTick: definition.partitionFromTick } : {}),
    ...(definition.pipeline ? { pipeline: definition.pipeline } : {}),
    definitionVersion: definition.rowVersion,
    ...(state?.lastScheduledFor ? { lastScheduledFor: state.lastScheduledFor } : {}),
    ...(state?.lastTickId ? { lastTickId: state.lastTickId } : {}),
    ...(state?.lastRunKey ? { lastRunKey: state.lastRunKey } : {}),
  };
}

/**
 * PUT …/schedules/{id} and enable/disable (spec §20.5): 201 created, 200 updated, 200 unchanged with
 * the same definitionVersion. An invalid cron or time zone is refused before anything is written.
 */
export async function upsertSchedule(
  deps: Dependencies,
  scope: Scope,
  scheduleId: string,
  change: (existing: ScheduleInput | undefined) => ScheduleInput,
): Promise<{ status: 200 | 201; body: ReturnType<typeof scheduleView> }> {
  const { definition } = await readSchedule(deps, scope, scheduleId);
  const next = change(definition);
  const decided = decideScheduleUpsert(scheduleId, next, definition);
  if (!decided.length) {
    const { state } = await readSchedule(deps, scope, scheduleId);
    return { status: 200, body: scheduleView(definition!, state) };
  }
  const { events, visibility_status } = await appendVisible(deps, scope, decided);
  const after = await readSchedule(deps, scope, scheduleId);
  // Not published yet: answer with the definition as written (the fold stamps its event id as version).
  const written =
    visibility_status === 'visible' && after.definition
      ? after.definition
      : ({ ...definition, ...next, scheduleId, rowVersion: events[0]!.eventId } as Row & ScheduleDefinition);
  return { status: definition ? 200 : 201, body: scheduleView(written, after.state) };
}

/**
 * Schedules declared in a deployed manifest (spec §14.1): new ones start enabled with no catch-up
 * (window 0 → 24 h, one tick); a redeploy keeps enabled and catch-up settings and writes nothing when
 * nothing changed.
 */
export async function syncDeclaredSchedules(
  deps: Dependencies,
  scope: Scope,
  manifest: CodeLocationManifest,
) {
  const snapshot = await readerFor(deps, scope).snapshot();
  const existing = new Map(
    (await snapshot.rows('schedule_definitions')).map((r) => [String(r.scheduleId), r]),
  );
  const events: AppendInput[] = [];
  for (const declared of manifest.schedules ?? []) {
    const current = existing.get(declared.id) as (Row & ScheduleDefinition) | undefined;
    const next = {
      cronExpression: declared.cron,
      timezone: declared.timezone ?? 'UTC',
      assetSelection: declared.assets ?? [],
      catchupWindowMinutes: current?.catchupWindowMinutes ?? 0,
      maxCatchupTicks: current?.maxCatchupTicks ?? 1,
      enabled: current?.enabled ?? true,
      ...(declared.partitionFromTick ? { partitionFromTick: declared.partitionFromTick } : {}),
      ...(declared.pipeline ? { pipeline: declared.pipeline } : {}),
    };
    if (current && sameSettings(current, next)) continue;
    events.push(
      definitionEvent(declared.id, { ...next, codeVersion: manifest.codeVersionId }, current?.rowVersion),
    );
  }
  if (events.length) await appendVisible(deps, scope, events);
}
