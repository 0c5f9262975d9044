import { monotonicFactory } from 'ulid';
import {
  type EventData,
  envelope,
  type OrchestrationEvent,
  type TaskErrorInfo,
} from '../../shared/orchestration/state/events.ts';
import type { AppendInput } from '../../shared/orchestration/state/ledger.ts';

/** Mints envelopes with strictly increasing ULIDs at a controllable time, as a server would. */
export function eventFactory(
  tenantId = 't',
  workspaceId = 'w',
  startMs = Date.parse('2026-11-23T10:00:00Z'),
) {
  const ulid = monotonicFactory();
  let nowMs = startMs;
  return {
    advance(ms: number) {
      nowMs += ms;
    },
    at: () => nowMs,
    event(data: EventData, overrides: { idempotencyKey?: string } = {}): OrchestrationEvent {
      return envelope({
        eventId: ulid(nowMs),
        tenantId,
        workspaceId,
        timestamp: new Date(nowMs),
        data,
        ...overrides,
      });
    },
  };
}

/**
 * What a worker's first attempt of a task leaves in the ledger, for tests that play the worker:
 * dispatch requested, started, finished with `finish` (outcome and error fields).
 */
export function workerAttempt(
  runId: string,
  taskKey: string,
  finish: { outcome: 'succeeded' | 'failed'; errorMessage?: string; error?: TaskErrorInfo },
): AppendInput[] {
  const facts = { runId, taskKey, attempt: 1, attemptId: `att-${taskKey}`, workerId: 'w' };
  return [
    {
      data: {
        type: 'dispatch_requested',
        ...facts,
        workerQueue: 'q',
        dispatchId: `dispatch:${runId}:${taskKey}:1`,
      },
    },
    { data: { type: 'task_started', ...facts } },
    { data: { type: 'task_finished', ...facts, ...finish } },
  ];
}

/** A run of two tasks (a → b) whose first task was dispatched, started and succeeded with a Delta version. */
export const runEvents = (runId: string): EventData[] => [
  {
    type: 'run_triggered',
    runId,
    planId: `plan-${runId}`,
    trigger: { manual: { userId: 'u' } },
    rootAssets: ['a'],
  },
  {
    type: 'plan_created',
    runId,
    planId: `plan-${runId}`,
    tasks: [
      { key: 'a', dependsOn: [], assetKey: 'a', partitionKey: 'date=2026-11-22' },
      { key: 'b', dependsOn: ['a'], assetKey: 'b' },
    ],
  },
  {
    type: 'dispatch_requested',
    runId,
    taskKey: 'a',
    attempt: 1,
    attemptId: `att-${runId}`,
    workerQueue: 'q',
    dispatchId: `dispatch:${runId}:a:1`,
  },
  { type: 'task_started', runId, taskKey: 'a', attempt: 1, attemptId: `att-${runId}`, workerId: 'w' },
  {
    type: 'task_finished',
    runId,
    taskKey: 'a',
    attempt: 1,
    attemptId: `att-${runId}`,
    workerId: 'w',
    outcome: 'succeeded',
    output: { deltaTable: 'a', deltaVersion: 3 },
  },
];
