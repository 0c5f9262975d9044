import { Cron } from 'croner';

/** A schedule as the projection holds it (orchestration spec §14.1). */
export interface ScheduleDefinition {
  scheduleId: string;
  cronExpression: string;
  timezone: string;
  catchupWindowMinutes: number;
  maxCatchupTicks: number;
  assetSelection: string[];
  enabled: boolean;
  /** A dimension whose value each tick's run takes from the tick's day in the schedule's zone. */
  partitionFromTick?: string;
  /** A pipeline's daily schedule: each tick runs that pipeline for the tick's day. */
  pipeline?: string;
  codeVersion?: string;
  rowVersion: string;
}

const DEFAULT_WINDOW_MINUTES = 24 * 60;

/** The cron in its time zone, or why it cannot be evaluated (an invalid expression or zone). */
export function parseSchedule(cronExpression: string, timezone: string): Cron | { error: string } {
  const fields = cronExpression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6)
    return { error: `cron expression must have 5 or 6 fields, got ${fields}` };
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return { error: `unknown time zone ${timezone}` };
  }
  try {
    return new Cron(cronExpression, { timezone, paused: true });
  } catch (error) {
    return { error: `invalid cron expression: ${(error as Error).message}` };
  }
}

/**
 * Spec §14.2: the cron occurrences t with start < t ≤ now, earliest first, at most maxCatchupTicks, where
 * start = max(lastScheduledFor, now − window). Occurrences are computed in the schedule's zone, so a
 * daily 02:30 in a zone that skips 02:30 fires once at the shifted time and a repeated hour fires once.
 */
export function dueTicks(
  definition: Pick<
    ScheduleDefinition,
    'cronExpression' | 'timezone' | 'catchupWindowMinutes' | 'maxCatchupTicks'
  >,
  lastScheduledFor: string | undefined,
  now: Date,
): { ticks: Date[] } | { error: string } {
  const cron = parseSchedule(definition.cronExpression, definition.timezone);
  if ('error' in cron) return cron;
  const window = (definition.catchupWindowMinutes || DEFAULT_WINDOW_MINUTES) * 60_000;
  const floor = now.getTime() - window;
  let cursor = new Date(Math.max(lastScheduledFor ? Date.parse(lastScheduledFor) : floor, floor));
  const ticks: Date[] = [];
  while (ticks.length < Math.max(1, definition.maxCatchupTicks)) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > now.getTime()) break;
    ticks.push(next);
    cursor = next;
  }
  return { ticks };
}

export const tickIdOf = (scheduleId: string, at: Date) => `${scheduleId}:${Math.floor(at.getTime() / 1000)}`;
export const scheduleRunKey = (scheduleId: string, at: Date) =>
  `sched:${scheduleId}:${Math.floor(at.getTime() / 1000)}`;

/** The tick's calendar day in the schedule's zone (a daily schedule's partition). */
export const tickDay = (at: Date, timezone: string) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
