/**
 * The schedule aggregate's pure decisions (orchestration spec §14, §20.5): a definition change and the
 * event that records it. No I/O and no clock; scheduleCommands.ts reads, decides and appends.
 */
import { ArcoError } from '../../core/arcoError.ts';
import { canonicalJson } from '../../core/canonicalJson.ts';
import { sha256Hex } from '../../core/hashing.ts';
import type { AppendInput } from '../state/ledger.ts';
import { parseSchedule, type ScheduleDefinition } from './scheduleTicks.ts';

/** A schedule's settings as a request gives them (the id, version and code version are not settings). */
export type ScheduleInput = Omit<ScheduleDefinition, 'scheduleId' | 'rowVersion' | 'codeVersion'>;

/** The settings whose change writes a new definition; anything else is not a change. */
export const SCHEDULE_SETTINGS = [
  'cronExpression',
  'timezone',
  'catchupWindowMinutes',
  'maxCatchupTicks',
  'assetSelection',
  'enabled',
  'partitionFromTick',
  'pipeline',
] as const;

/** True when `next` sets every setting as `current` has it. */
export const sameSettings = (current: Partial<ScheduleInput>, next: Partial<ScheduleInput>) =>
  SCHEDULE_SETTINGS.every((k) => JSON.stringify(current[k]) === JSON.stringify(next[k]));

/**
 * The upsert event, keyed by the settings and the version they replace: a retried request dedups, while
 * disable → enable → disable writes three events (the default key would drop the second disable).
 */
export function definitionEvent(
  scheduleId: string,
  next: ScheduleInput & { codeVersion?: string },
  replaces: string | undefined,
): AppendInput {
  return {
    data: { type: 'schedule_definition_upserted', scheduleId, ...next },
    idempotencyKey: `sched_def:${scheduleId}:${sha256Hex(canonicalJson(next))}:${replaces ?? 'new'}`,
  };
}

/**
 * `PUT …/schedules/{id}` and enable/disable: the definition event for `next`, or none when it changes
 * no setting of `current` (the definition as last published, with its row version). Throws
 * invalid_argument for a cron or time zone croner refuses, or an empty asset selection.
 */
export function decideScheduleUpsert(
  scheduleId: string,
  next: ScheduleInput,
  current: (ScheduleInput & { rowVersion?: string }) | undefined,
): AppendInput[] {
  const parsed = parseSchedule(next.cronExpression, next.timezone);
  if ('error' in parsed) throw new ArcoError('invalid_argument', parsed.error);
  if (next.assetSelection.length === 0 || next.assetSelection.some((a) => !a.trim()))
    throw new ArcoError('invalid_argument', 'assetSelection cannot be empty or contain empty items');
  if (current && sameSettings(current, next)) return [];
  return [definitionEvent(scheduleId, next, current?.rowVersion)];
}
