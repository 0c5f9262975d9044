/**
 * The pipeline aggregate's pure decisions (pipeline-ops spec §4): each day's as-of, and what a pipeline
 * run does with each partition (start it, rerun what is missing, skip what earlier runs' manifests show
 * succeeded, hold a category C failure, wait for a run still going). No I/O: planPipelineRun reads the
 * history and manifests a decision needs and calls decidePartition once per day.
 */
import { ArcoError } from '../../core/arcoError.ts';
import type { RunRow, TaskRow } from '../run/evolve.ts';
import { tickDay } from '../schedule/scheduleTicks.ts';
import { publicRunState } from '../run/publicStates.ts';
import type { AsOfMode, PipelineDeclaration } from './pipelineDeclarations.ts';

export type Action = 'new_run' | 'rerun_missing' | 'skip_succeeded' | 'held' | 'skipped_no_event' | 'wait';
export type RowStatus =
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped_succeeded'
  | 'skipped_no_event'
  | 'held'
  | 'cancelled';

export interface PartitionRow {
  partition: string;
  partitionKey: string;
  asOfTs: string;
  asOfClamped: boolean;
  action: Action;
  status: RowStatus;
  steps: string[];
  runId?: string;
  parentRunId?: string;
  satisfiedBy?: Array<{ assetKey: string; runId: string }>;
  startedAt?: string;
  durationMs?: number;
  failedSteps?: string[];
  failureClass?: string;
  failureCode?: string;
  retryCategory?: string;
  message?: string;
  reason?: string;
}

/** A refused pipeline run request (an unknown pipeline, bad dates, steps that select nothing). */
export class PipelineRunError extends ArcoError {}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `today`, `yesterday` (in the pipeline's zone) or a `YYYY-MM-DD` day; invalid_argument otherwise. */
export function resolveDay(value: string, timezone: string, now: Date): string {
  if (value === 'today') return tickDay(now, timezone);
  // The calendar day before today in the zone: 24 h earlier is two days back for the first hour
  // after a 23-hour (spring-forward) day.
  if (value === 'yesterday') return dayBefore(tickDay(now, timezone));
  if (!isCalendarDay(value))
    throw new PipelineRunError(
      'invalid_argument',
      `dates must be YYYY-MM-DD, today or yesterday; got ${value}`,
    );
  return value;
}

function dayBefore(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

/** Whether `value` is a `YYYY-MM-DD` day of the calendar: 2026-02-30 (which Date.parse rolls over) is not. */
export function isCalendarDay(value: string): boolean {
  if (!DAY.test(value)) return false;
  const time = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === value;
}

/** The UTC instant of a local wall-clock time on a day in a zone (DST-correct to the minute). */
function zonedInstant(day: string, localTime: string, timezone: string): Date {
  const guess = new Date(`${day}T${localTime}:00Z`);
  const shown = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  })
    .formatToParts(guess)
    .reduce<Record<string, string>>((acc, p) => ({ ...acc, [p.type]: p.value }), {});
  const asUtc = Date.UTC(
    Number(shown.year),
    Number(shown.month) - 1,
    Number(shown.day),
    Number(shown.hour),
    Number(shown.minute),
  );
  return new Date(guess.getTime() - (asUtc - guess.getTime()));
}

/** Spec §4.5: the as-of of a partition, clamped to the trigger time (a run cannot know the future). */
export function asOfFor(
  pipeline: PipelineDeclaration,
  mode: AsOfMode,
  day: string,
  now: Date,
  custom?: string,
): { ts: string; clamped: boolean } | { missing: 'error' | 'skip' } {
  let ts: Date;
  if (mode === 'now') ts = now;
  else if (mode === 'custom') ts = new Date(custom!);
  else if (mode === 'pretip') {
    const pretip = pipeline.asOf?.pretip;
    if (!pretip) return { missing: 'error' };
    ts = new Date(
      zonedInstant(day, pretip.calendar.localTime, pipeline.timezone ?? 'UTC').getTime() -
        pretip.leadMinutes * 60_000,
    );
  } else {
    const lock = pipeline.asOf?.lock?.calendar;
    const at = lock?.times[day];
    if (!at) return { missing: lock?.missingDate ?? 'error' };
    ts = new Date(at);
  }
  return ts.getTime() > now.getTime()
    ? { ts: now.toISOString(), clamped: true }
    : { ts: ts.toISOString(), clamped: false };
}

/** A run still going (not SUCCEEDED, FAILED or CANCELLED as the API shows it). */
export const isActive = (run: RunRow) => !['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(publicRunState(run));

/** Whether `run` ran at this partition's as-of: any earlier run counts for `now` (a fresh as-of each time). */
export const sameAsOf = (run: RunRow, mode: AsOfMode, asOf: { ts: string }) =>
  mode === 'now' || (run.labels['arco.as_of_ts'] === asOf.ts && run.labels['arco.as_of_clamped'] !== 'true');

/** The root failure of a run: its earliest failed task by completion time, then key (spec §4.4). */
export function rootFailure(tasks: TaskRow[]) {
  const failed = tasks
    .filter((t) => t.state === 'FAILED')
    .sort(
      (a, b) =>
        String(a.completedAt).localeCompare(String(b.completedAt)) || a.taskKey.localeCompare(b.taskKey),
    );
  const root = failed[0];
  if (!root) return {};
  return {
    failedSteps: failed.map((t) => t.assetKey ?? t.taskKey),
    ...(root.lastFailure?.failureClass ? { failureClass: root.lastFailure.failureClass } : {}),
    ...(root.lastFailure?.code ? { failureCode: root.lastFailure.code } : {}),
    ...(root.lastFailure?.retryCategory ? { retryCategory: root.lastFailure.retryCategory } : {}),
    message: root.lastFailure?.message ?? root.errorMessage ?? 'failed',
  };
}

/** What the planner read of one partition for its decision. */
export interface PartitionFacts {
  /** The pipeline's runs of this partition, newest first. */
  past?: RunRow[];
  /** On a resume: each step an earlier run at this as-of completed, with that run (manifest says success). */
  satisfied?: Map<string, string>;
  /** On a resume: the root failure of the latest earlier run at this as-of. */
  latestRootFailure?: Partial<PartitionRow>;
}

/** One day of a pipeline run request, with its resolved as-of. */
export interface PartitionPlanInput {
  day: string;
  partitionKey: string;
  steps: string[];
  mode: AsOfMode;
  asOf: { ts: string; clamped: boolean } | { missing: 'error' | 'skip' };
  request: { resume?: boolean; force?: boolean; retryHeld?: boolean };
}

/**
 * Spec §4.3: the row of one partition. No as-of → skipped (`skip`) or held (`error`, category C);
 * a run of the partition still going → wait for it; on a resume (not forced), every step satisfied →
 * skip; the latest run at this as-of FAILED on a category C root failure → hold unless `retryHeld`;
 * some steps satisfied → rerun the missing ones; else a new run.
 */
export function decidePartition(input: PartitionPlanInput, facts: PartitionFacts): PartitionRow {
  const { day, partitionKey, steps, mode, asOf, request } = input;
  const base = { partition: day, partitionKey, steps, status: 'pending' as RowStatus };
  if ('missing' in asOf)
    return {
      ...base,
      asOfTs: '',
      asOfClamped: false,
      action: asOf.missing === 'skip' ? 'skipped_no_event' : 'held',
      status: asOf.missing === 'skip' ? 'skipped_no_event' : 'held',
      ...(asOf.missing === 'error'
        ? {
            failureClass: 'CONFIGURATION',
            failureCode: 'as_of_unresolvable',
            retryCategory: 'C',
            message: `no ${mode} time for ${day}`,
          }
        : {}),
    };
  const row = { ...base, asOfTs: asOf.ts, asOfClamped: asOf.clamped };
  const { past } = facts;
  const active = past?.find(isActive);
  if (active) return { ...row, action: 'wait', runId: active.runId };
  if (request.resume && !request.force && past) {
    const satisfied = facts.satisfied ?? new Map<string, string>();
    if (steps.every((s) => satisfied.has(s)))
      return {
        ...row,
        action: 'skip_succeeded',
        status: 'skipped_succeeded',
        satisfiedBy: steps.map((s) => ({ assetKey: s, runId: satisfied.get(s)! })),
      };
    const latest = past.filter((r) => sameAsOf(r, mode, asOf))[0];
    const root = facts.latestRootFailure ?? {};
    if (latest && publicRunState(latest) === 'FAILED' && root.retryCategory === 'C' && !request.retryHeld)
      return { ...row, action: 'held', status: 'held', runId: latest.runId, ...root };
    if (satisfied.size)
      return {
        ...row,
        action: 'rerun_missing',
        steps: steps.filter((s) => !satisfied.has(s)),
        // The steps not rerun are read from the runs whose manifests satisfied them (spec §4.3).
        satisfiedBy: [...satisfied].map(([assetKey, runId]) => ({ assetKey, runId })),
        ...(latest ? { parentRunId: latest.runId } : {}),
      };
  }
  return { ...row, action: 'new_run' };
}
