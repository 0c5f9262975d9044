/** Run and task states as the API names them (orchestration spec §20.6); pure. */
import type { RunRow, TaskRow, TaskState } from './evolve.ts';
import { TERMINAL_RUN_STATES } from '../state/projectionTables.ts';

const PUBLIC_TASK_STATE: Record<TaskState, string> = {
  PLANNED: 'PENDING',
  BLOCKED: 'PENDING',
  RETRY_WAIT: 'PENDING',
  READY: 'QUEUED',
  DISPATCHED: 'QUEUED',
  RUNNING: 'RUNNING',
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  SKIPPED: 'SKIPPED',
  CANCELLED: 'CANCELLED',
};

/** A task's state as the API shows it. */
export const publicTaskState = (task: TaskRow) => PUBLIC_TASK_STATE[task.state];

/** Every state `publicRunState` answers: what `GET …/runs?state=` may filter on. */
export const PUBLIC_RUN_STATES = [
  'PENDING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLING',
  'CANCELLED',
] as const;

/** A run's state as the API shows it: CANCELLING while a cancel is pending, PENDING before its plan. */
export function publicRunState(run: RunRow): (typeof PUBLIC_RUN_STATES)[number] {
  if (run.cancelRequested && !TERMINAL_RUN_STATES.has(run.state)) return 'CANCELLING';
  if (run.state === 'TRIGGERED') return 'PENDING';
  return run.state;
}
