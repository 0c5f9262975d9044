/**
 * The run aggregate's rows and its part of the pure fold (orchestration spec §6–§11, §17): runs, plans,
 * tasks and their attempts, dependency edges, dispatches, timers, retries and run-key requests. No I/O
 * and no clock: times come from event ids. Derived facts (ready, skipped, run completion) are fold
 * outputs, never events.
 */
import { sha256Hex } from '../../core/hashing.ts';
import { cloudTaskName } from './dispatchIds.ts';
import type { FoldContext, Handler, HandlerTable } from '../state/foldContext.ts';
import type { TaskDef } from '../state/events.ts';
import { keyOf, type Row, rowKey, sliceCountForRun } from '../state/projectionTables.ts';

export const TASK_RANK = {
  PLANNED: 0,
  BLOCKED: 1,
  READY: 2,
  DISPATCHED: 3,
  RUNNING: 4,
  RETRY_WAIT: 5,
  SKIPPED: 10,
  CANCELLED: 11,
  FAILED: 12,
  SUCCEEDED: 13,
} as const;

export type TaskState = keyof typeof TASK_RANK;
export type Resolution = 'SUCCESS' | 'FAILED' | 'SKIPPED' | 'CANCELLED';

export interface RunRow extends Row {
  runId: string;
  planId: string;
  state: 'TRIGGERED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  runKey?: string;
  labels: Record<string, string>;
  codeVersion?: string;
  trigger?: Record<string, unknown>;
  rootAssets: string[];
  cancelRequested: boolean;
  taskKeys: string[];
  tasksTotal: number;
  tasksCompleted: number;
  tasksSucceeded: number;
  tasksFailed: number;
  tasksSkipped: number;
  tasksCancelled: number;
  triggeredAt: string;
  completedAt?: string;
  triggerRecorded: boolean;
  /**
   * How many slices the run's task, edge and outbox rows are spread over (projectionTables.ts
   * `sliceCountForRun`), fixed when it is planned; absent on runs planned before it existed (32).
   */
  taskSlices?: number;
}

/**
 * The keys that find each task row of `run` (its task keys, with its slice count as `runSlices`): what
 * `ProjectionSnapshot.rowsWithKeys('tasks', …)` takes to read only the run's own slices.
 */
export const taskRowKeysOf = (run: RunRow) =>
  run.taskKeys.map((taskKey) => ({ runId: run.runId, taskKey, runSlices: run.taskSlices }));

export interface TaskFailure {
  attempt: number;
  errorCategory?: string;
  failureClass?: string;
  retryCategory?: string;
  signature?: string;
  code?: string;
  message?: string;
  retryable: boolean;
}

export interface TaskRow extends Row {
  runId: string;
  taskKey: string;
  state: TaskState;
  attempt: number;
  attemptId?: string;
  startedAt?: string;
  completedAt?: string;
  errorMessage?: string;
  depsTotal: number;
  depsSatisfiedCount: number;
  maxAttempts: number;
  heartbeatTimeoutSec: number;
  lastHeartbeatAt?: string;
  readyAt?: string;
  assetKey?: string;
  partitionKey?: string;
  requiresVisibleOutput: boolean;
  dependsOn: string[];
  dependents: string[];
  initialBackoffSeconds: number;
  maxBackoffSeconds: number;
  workerUrl?: string;
  payload?: Record<string, unknown>;
  retryNotBefore?: string;
  lastFailure?: TaskFailure;
  report?: Record<string, unknown>;
  manualRetries?: number;
  /** Why the current attempt exists (spec §11 `reason`), set when the attempt starts as a retry. */
  retryReason?: string;
  /** The failure of the attempt the current one retries; `lastFailure` moves on if this one fails too. */
  retryCause?: TaskFailure;
  /**
   * The reason and cause of the retry a RETRY_WAIT task waits for: they become `retryReason` and
   * `retryCause` when that attempt is dispatched, so until then the waiting attempt keeps its own.
   */
  pendingRetry?: { reason: string; cause: TaskFailure };
  materializationId?: string;
  deltaTable?: string;
  deltaVersion?: number;
  deltaPartition?: string;
  executionLineageRef?: string;
}

export interface EdgeRow extends Row {
  runId: string;
  upstreamTaskKey: string;
  downstreamTaskKey: string;
  satisfied: boolean;
  resolution?: Resolution;
  satisfiedAt?: string;
  satisfyingAttempt?: number;
}

const TERMINAL = new Set<TaskState>(['SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED']);
export const isTerminal = (state: TaskState) => TERMINAL.has(state);

/** Non-retryable by default (orchestration spec §18.5); everything else retries unless told not to. */
const NON_RETRYABLE_CATEGORIES = new Set(['DATA_QUALITY', 'CONFIGURATION', 'CANCELLED']);

/**
 * `delay(n) = min(initial × 2^min(n−1, 6), max)` with the spec's 30 s / 900 s defaults (§10.2), spread by
 * up to ±10 % so that tasks failing together do not retry together. The jitter is a hash of the retry's
 * identity, not a random draw, so the fold stays deterministic.
 */
export function retryDelayMs(
  attempt: number,
  initialSeconds = 30,
  maxSeconds = 900,
  jitterSeed = '',
): number {
  const base = Math.min(initialSeconds * 2 ** Math.min(attempt - 1, 6), maxSeconds) * 1000;
  if (!jitterSeed) return base;
  const fraction = Number.parseInt(sha256Hex(jitterSeed).slice(0, 8), 16) / 0xffffffff;
  return Math.round(base * (0.9 + 0.2 * fraction));
}

const runOf = (c: FoldContext, runId: string) => c.d.get<RunRow>('runs', runId);
const taskOf = (c: FoldContext, runId: string, taskKey: string) =>
  c.d.get<TaskRow>('tasks', keyOf(runId, taskKey));
const edgeKey = (runId: string, up: string, down: string) => keyOf(runId, up, down);
const putRun = (c: FoldContext, run: RunRow) => c.d.put('runs', { ...run, rowVersion: c.event.eventId });
/**
 * Writes a row of a table sliced per run (tasks, edges, outbox) with its `runSlices`: the one it was
 * first written with, so a row never moves between slices, else its run's `taskSlices`. Readers find
 * the row by the same count.
 */
function putRunScoped(c: FoldContext, table: 'tasks' | 'dep_satisfaction' | 'dispatch_outbox', row: Row) {
  const existing = c.d.get(table, rowKey(table, row));
  const runSlices = existing ? existing.runSlices : runOf(c, String(row.runId))?.taskSlices;
  const { runSlices: _given, ...rest } = row;
  c.d.put(table, runSlices === undefined ? rest : { ...rest, runSlices });
}
const putTask = (c: FoldContext, task: TaskRow) =>
  putRunScoped(c, 'tasks', { ...task, rowVersion: c.event.eventId });

function completeRunIfDone(c: FoldContext, run: RunRow): RunRow {
  if (run.state === 'SUCCEEDED' || run.state === 'FAILED' || run.state === 'CANCELLED') return run;
  if (run.tasksCompleted < run.tasksTotal || !run.taskKeys.length) return run;
  const state = run.tasksCancelled > 0 ? 'CANCELLED' : run.tasksFailed > 0 ? 'FAILED' : 'SUCCEEDED';
  return { ...run, state, completedAt: c.time };
}

const COUNTER: Record<string, keyof RunRow> = {
  SUCCEEDED: 'tasksSucceeded',
  FAILED: 'tasksFailed',
  SKIPPED: 'tasksSkipped',
  CANCELLED: 'tasksCancelled',
};

/** Moves a task to a terminal state and counts it on its run exactly once. */
function terminate(c: FoldContext, task: TaskRow, state: TaskState, extra: Partial<TaskRow> = {}): TaskRow {
  const next: TaskRow = { ...task, ...extra, state, completedAt: c.time };
  delete next.retryNotBefore;
  putTask(c, next);
  const run = runOf(c, task.runId);
  if (run) {
    const counter = COUNTER[state]!;
    const counted = {
      ...run,
      tasksCompleted: run.tasksCompleted + 1,
      [counter]: (run[counter] as number) + 1,
    } as RunRow;
    putRun(c, completeRunIfDone(c, counted));
  }
  return next;
}

/** Breadth-first over dependents: each edge records the resolution; live dependents are skipped or cancelled. */
function propagate(c: FoldContext, runId: string, from: TaskRow, resolution: Exclude<Resolution, 'SUCCESS'>) {
  const queue: Array<[TaskRow, Exclude<Resolution, 'SUCCESS'>]> = [[from, resolution]];
  while (queue.length) {
    const [upstream, carried] = queue.shift()!;
    for (const downKey of upstream.dependents) {
      putRunScoped(c, 'dep_satisfaction', {
        ...(c.d.get<EdgeRow>('dep_satisfaction', edgeKey(runId, upstream.taskKey, downKey)) ?? {
          runId,
          upstreamTaskKey: upstream.taskKey,
          downstreamTaskKey: downKey,
        }),
        satisfied: false,
        resolution: carried,
        satisfiedAt: c.time,
        rowVersion: c.event.eventId,
      } as EdgeRow);
      const downstream = taskOf(c, runId, downKey);
      if (!downstream || isTerminal(downstream.state)) continue;
      const state = carried === 'CANCELLED' ? 'CANCELLED' : 'SKIPPED';
      const done = terminate(c, downstream, state);
      queue.push([done, state === 'CANCELLED' ? 'CANCELLED' : 'SKIPPED']);
    }
  }
}

function satisfyDependents(c: FoldContext, upstream: TaskRow) {
  for (const downKey of upstream.dependents) {
    const key = edgeKey(upstream.runId, upstream.taskKey, downKey);
    const edge = c.d.get<EdgeRow>('dep_satisfaction', key);
    const alreadySatisfied = edge?.satisfied === true;
    putRunScoped(c, 'dep_satisfaction', {
      runId: upstream.runId,
      upstreamTaskKey: upstream.taskKey,
      downstreamTaskKey: downKey,
      satisfied: true,
      resolution: 'SUCCESS',
      satisfiedAt: c.time,
      satisfyingAttempt: upstream.attempt,
      rowVersion: c.event.eventId,
    } as EdgeRow);
    const downstream = taskOf(c, upstream.runId, downKey);
    if (!downstream || alreadySatisfied) continue;
    const count = downstream.depsSatisfiedCount + 1;
    const ready = downstream.state === 'BLOCKED' && count >= downstream.depsTotal;
    putTask(c, {
      ...downstream,
      depsSatisfiedCount: count,
      ...(ready ? { state: 'READY', readyAt: c.time } : {}),
    });
  }
}

/** §17.2: compact JSON with keys in this exact order, absent values omitted. */
export function executionLineageRef(fields: {
  runId: string;
  taskKey: string;
  attempt: number;
  materializationId?: string;
  deltaTable?: string;
  deltaVersion?: number;
  deltaPartition?: string;
}): string {
  const ordered: Record<string, unknown> = {};
  for (const key of [
    'runId',
    'taskKey',
    'attempt',
    'materializationId',
    'deltaTable',
    'deltaVersion',
    'deltaPartition',
  ] as const)
    if (fields[key] !== undefined) ordered[key] = fields[key];
  return JSON.stringify(ordered);
}

function recordPartition(
  c: FoldContext,
  task: TaskRow,
  outcome: string,
  run: RunRow | undefined,
  lineage?: Partial<TaskRow>,
) {
  const partitionKey = task.partitionKey ?? lineage?.deltaPartition;
  if (!task.assetKey || !partitionKey) return;
  const key = keyOf(task.assetKey, partitionKey);
  const existing = c.d.get('partition_status', key);
  // Apply only if this event is not older than the row (§17.1): a late retry never erases a success.
  if (existing && existing.rowVersion > c.event.eventId) return;
  const row: Row = {
    ...(existing ?? {}),
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    assetKey: task.assetKey,
    partitionKey,
    lastAttemptRunId: task.runId,
    lastAttemptAt: c.time,
    lastAttemptOutcome: outcome,
    rowVersion: c.event.eventId,
  };
  if (outcome === 'SUCCEEDED' && lineage) {
    Object.assign(row, {
      lastMaterializationRunId: task.runId,
      lastMaterializationAt: c.time,
      ...(run?.codeVersion ? { lastMaterializationCodeVersion: run.codeVersion } : {}),
    });
    for (const field of ['deltaTable', 'deltaVersion', 'deltaPartition', 'executionLineageRef'] as const) {
      if (lineage[field] !== undefined) row[field] = lineage[field];
      else delete row[field];
    }
    delete row.staleSince;
    delete row.staleReasonCode;
  }
  c.d.put('partition_status', row);
}

function newTask(c: FoldContext, runId: string, def: TaskDef, dependents: string[]): TaskRow {
  const deps = [...def.dependsOn].sort();
  return {
    runId,
    taskKey: def.key,
    state: deps.length ? 'BLOCKED' : 'READY',
    attempt: 0,
    depsTotal: deps.length,
    depsSatisfiedCount: 0,
    maxAttempts: def.maxAttempts ?? 3,
    heartbeatTimeoutSec: Math.max(30, def.heartbeatTimeoutSec ?? 300),
    requiresVisibleOutput: def.requiresVisibleOutput ?? false,
    dependsOn: deps,
    dependents,
    initialBackoffSeconds: def.initialBackoffSeconds ?? 30,
    maxBackoffSeconds: def.maxBackoffSeconds ?? 900,
    ...(deps.length ? {} : { readyAt: c.time }),
    ...(def.assetKey ? { assetKey: def.assetKey } : {}),
    ...(def.partitionKey ? { partitionKey: def.partitionKey } : {}),
    ...(def.workerUrl ? { workerUrl: def.workerUrl } : {}),
    ...(def.payload && Object.keys(def.payload).length ? { payload: def.payload } : {}),
    rowVersion: c.event.eventId,
  };
}

/** A run row before anything happened to it; whichever of RunTriggered and PlanCreated comes first makes it. */
function newRun(c: FoldContext, runId: string, planId: string): RunRow {
  return {
    runId,
    planId,
    state: 'TRIGGERED',
    labels: {},
    rootAssets: [],
    cancelRequested: false,
    taskKeys: [],
    tasksTotal: 0,
    tasksCompleted: 0,
    tasksSucceeded: 0,
    tasksFailed: 0,
    tasksSkipped: 0,
    tasksCancelled: 0,
    triggeredAt: c.time,
    triggerRecorded: true,
    rowVersion: c.event.eventId,
  };
}

const onRunTriggered: Handler<'run_triggered'> = (c, data) => {
  const existing = runOf(c, data.runId);
  if (existing?.triggerRecorded) return;
  const base: RunRow = existing ?? newRun(c, data.runId, data.planId);
  putRun(c, {
    ...base,
    triggeredAt: existing ? base.triggeredAt : c.time,
    trigger: data.trigger,
    rootAssets: [...data.rootAssets],
    labels: { ...(data.labels ?? {}) },
    ...(data.runKey ? { runKey: data.runKey } : {}),
    ...(data.codeVersion ? { codeVersion: data.codeVersion } : {}),
    triggerRecorded: true,
  });
  if (data.runKey && !c.d.get('run_key_index', data.runKey))
    c.d.put('run_key_index', {
      tenantId: c.event.tenantId,
      workspaceId: c.event.workspaceId,
      runKey: data.runKey,
      runId: data.runId,
      requestFingerprint: '',
      createdAt: c.time,
      rowVersion: c.event.eventId,
    });
};

const onPlanCreated: Handler<'plan_created'> = (c, data) => {
  const existing = runOf(c, data.runId);
  if (existing?.taskKeys.length) return;
  const keys = data.tasks.map((t) => t.key);
  const planned = new Set(keys);
  const dependents = new Map<string, string[]>(keys.map((k) => [k, []]));
  for (const def of data.tasks)
    for (const up of def.dependsOn) if (planned.has(up)) dependents.get(up)!.push(def.key);
  // The run first: its task rows take their slice count from it.
  const run: RunRow = existing ?? { ...newRun(c, data.runId, data.planId), triggerRecorded: false };
  putRun(c, {
    ...run,
    planId: data.planId,
    taskKeys: [...keys].sort(),
    tasksTotal: keys.length,
    taskSlices: sliceCountForRun(keys.length),
    state: run.state === 'TRIGGERED' ? (keys.length ? 'RUNNING' : 'SUCCEEDED') : run.state,
    ...(keys.length ? {} : { completedAt: c.time }),
  });
  for (const def of data.tasks) {
    const dependsOn = def.dependsOn.filter((up) => planned.has(up));
    putTask(c, newTask(c, data.runId, { ...def, dependsOn }, [...dependents.get(def.key)!].sort()));
    for (const up of dependsOn)
      putRunScoped(c, 'dep_satisfaction', {
        runId: data.runId,
        upstreamTaskKey: up,
        downstreamTaskKey: def.key,
        satisfied: false,
        rowVersion: c.event.eventId,
      });
  }
};

const onRunCancelRequested: Handler<'run_cancel_requested'> = (c, data) => {
  const run = runOf(c, data.runId);
  if (
    !run ||
    run.state === 'SUCCEEDED' ||
    run.state === 'FAILED' ||
    run.state === 'CANCELLED' ||
    run.cancelRequested
  )
    return;
  putRun(c, { ...run, cancelRequested: true });
  for (const key of run.taskKeys) {
    const task = taskOf(c, data.runId, key);
    if (!task || isTerminal(task.state) || task.state === 'RUNNING') continue;
    const cancelled = terminate(c, task, 'CANCELLED');
    recordPartition(c, cancelled, 'CANCELLED', runOf(c, data.runId));
  }
};

const onTaskStarted: Handler<'task_started'> = (c, data) => {
  const task = taskOf(c, data.runId, data.taskKey);
  if (!task || data.attempt < task.attempt) return;
  if (data.attempt === task.attempt && task.attemptId && task.attemptId !== data.attemptId) return;
  if (data.attempt === task.attempt && task.state === 'RUNNING') return;
  // Batches fold in arrival order, so a start may come after its attempt ended: it records when the
  // attempt started (as folding in event order would) and never revives the attempt.
  if (data.attempt === task.attempt && (isTerminal(task.state) || task.state === 'RETRY_WAIT')) {
    // An earlier attempt's start may still be on the row; this attempt started later.
    if (!task.startedAt || task.startedAt < c.time) putTask(c, { ...task, startedAt: c.time });
    c.d.remove('dispatch_outbox', `dispatch:${data.runId}:${data.taskKey}:${data.attempt}`);
    return;
  }
  if (isTerminal(task.state)) return;
  const next: TaskRow = {
    ...task,
    state: 'RUNNING',
    attempt: data.attempt,
    attemptId: data.attemptId,
    startedAt: c.time,
  };
  delete next.retryNotBefore;
  putTask(c, next);
  c.d.remove('dispatch_outbox', `dispatch:${data.runId}:${data.taskKey}:${data.attempt}`);
};

const onTaskHeartbeat: Handler<'task_heartbeat'> = (c, data) => {
  const task = taskOf(c, data.runId, data.taskKey);
  if (!task || task.attempt !== data.attempt || task.attemptId !== data.attemptId) return;
  // The latest heartbeat of the attempt, whatever order batches fold in (also after it ended).
  if (task.lastHeartbeatAt && task.lastHeartbeatAt >= c.time) return;
  putTask(c, { ...task, lastHeartbeatAt: c.time });
};

const onTaskFinished: Handler<'task_finished' | 'task_completion_recorded'> = (c, data) => {
  const task = taskOf(c, data.runId, data.taskKey);
  if (!task || isTerminal(task.state)) return;
  if (task.attempt !== data.attempt || task.attemptId !== data.attemptId) return;
  c.d.remove('dispatch_outbox', `dispatch:${data.runId}:${data.taskKey}:${data.attempt}`);
  const run = runOf(c, data.runId);
  const report = (data.output as { manifest?: Record<string, unknown> } | undefined)?.manifest;
  const withFacts: TaskRow = {
    ...task,
    ...(data.assetKey && !task.assetKey ? { assetKey: data.assetKey } : {}),
    ...(data.partitionKey && !task.partitionKey ? { partitionKey: data.partitionKey } : {}),
    // The worker's own account of the attempt (inputs, outputs, checks) for its step manifest.
    ...(report ? { report } : {}),
  };
  if (data.outcome === 'succeeded') {
    const output = data.output ?? {};
    const materializationId = data.materializationId ?? (output.materializationId as string | undefined);
    const deltaVersion = typeof output.deltaVersion === 'number' ? output.deltaVersion : undefined;
    const lineage = {
      ...(materializationId ? { materializationId } : {}),
      ...(typeof output.deltaTable === 'string' ? { deltaTable: output.deltaTable } : {}),
      ...(deltaVersion !== undefined ? { deltaVersion } : {}),
      ...((output.deltaPartition ?? withFacts.partitionKey) !== undefined
        ? { deltaPartition: String(output.deltaPartition ?? withFacts.partitionKey) }
        : {}),
    };
    const ref = executionLineageRef({
      runId: task.runId,
      taskKey: task.taskKey,
      attempt: task.attempt,
      ...lineage,
    });
    const full = { ...lineage, executionLineageRef: ref };
    const done: TaskRow = { ...withFacts, ...full };
    delete done.errorMessage;
    const finished = terminate(c, done, 'SUCCEEDED');
    satisfyDependents(c, finished);
    recordPartition(c, finished, 'SUCCEEDED', runOf(c, data.runId) ?? run, full);
    return;
  }
  if (data.outcome === 'failed') {
    const error = data.error ?? {};
    const retryable =
      error.retryable ??
      (error.category ? !NON_RETRYABLE_CATEGORIES.has(error.category.toUpperCase()) : true);
    const message = error.message ?? data.errorMessage ?? 'task failed';
    const failure: TaskFailure = {
      attempt: data.attempt,
      retryable,
      message,
      ...(error.category ? { errorCategory: error.category.toUpperCase() } : {}),
      ...(error.failureClass ? { failureClass: error.failureClass } : {}),
      ...(error.code ? { code: error.code } : {}),
      ...(error.retryCategory ? { retryCategory: error.retryCategory } : {}),
      ...(error.signature ? { signature: error.signature } : {}),
    };
    const failed: TaskRow = { ...withFacts, errorMessage: message, lastFailure: failure };
    if (retryable && data.attempt < task.maxAttempts) {
      const deadline =
        c.timeMs +
        retryDelayMs(
          data.attempt,
          task.initialBackoffSeconds,
          task.maxBackoffSeconds,
          `${task.runId}|${task.taskKey}|${data.attempt}`,
        );
      putTask(c, {
        ...failed,
        state: 'RETRY_WAIT',
        retryNotBefore: new Date(deadline).toISOString(),
        pendingRetry: {
          reason:
            data.retryReason ??
            (data.workerId === 'anti-entropy' ? 'heartbeat_timeout' : 'prior_attempt_failed'),
          cause: failure,
        },
      });
      recordPartition(c, failed, 'FAILED', run);
      return;
    }
    const finished = terminate(c, failed, 'FAILED');
    recordPartition(c, finished, 'FAILED', run);
    propagate(c, data.runId, finished, 'FAILED');
    return;
  }
  const state = data.outcome === 'cancelled' ? 'CANCELLED' : 'SKIPPED';
  const finished = terminate(c, withFacts, state);
  recordPartition(c, finished, state, run);
  propagate(c, data.runId, finished, state);
};

function attemptConsumed(task: TaskRow, attempt: number): boolean {
  return (
    task.attempt > attempt ||
    (task.attempt === attempt &&
      (task.state === 'RUNNING' || task.state === 'RETRY_WAIT' || isTerminal(task.state)))
  );
}

const onDispatchRequested: Handler<'dispatch_requested'> = (c, data) => {
  const task = taskOf(c, data.runId, data.taskKey);
  if (!task) return;
  if (attemptConsumed(task, data.attempt) || isTerminal(task.state)) {
    c.d.remove('dispatch_outbox', data.dispatchId);
    return;
  }
  if (!['READY', 'RETRY_WAIT', 'DISPATCHED'].includes(task.state) || data.attempt < task.attempt) return;
  const existing = c.d.get('dispatch_outbox', data.dispatchId);
  const attemptId = (existing?.attemptId as string) || data.attemptId;
  putRunScoped(c, 'dispatch_outbox', {
    runId: data.runId,
    taskKey: data.taskKey,
    attempt: data.attempt,
    dispatchId: data.dispatchId,
    status: existing?.status ?? 'PENDING',
    attemptId,
    workerQueue: data.workerQueue,
    createdAt: (existing?.createdAt as string) ?? c.time,
    ...(existing?.cloudTaskId ? { cloudTaskId: existing.cloudTaskId } : {}),
    rowVersion: c.event.eventId,
  });
  const next: TaskRow = { ...task, state: 'DISPATCHED', attempt: data.attempt, attemptId };
  delete next.retryNotBefore;
  if (task.pendingRetry && data.attempt > task.attempt) {
    next.retryReason = task.pendingRetry.reason;
    next.retryCause = task.pendingRetry.cause;
    delete next.pendingRetry;
  }
  putTask(c, next);
};

const onDispatchEnqueued: Handler<'dispatch_enqueued'> = (c, data) => {
  const existing = c.d.get('dispatch_outbox', data.dispatchId);
  if (existing) {
    if (existing.rowVersion >= c.event.eventId) return;
    const named = existing.cloudTaskId as string | undefined;
    const renamed = named !== undefined && named !== data.cloudTaskId;
    // A late acknowledgement of the original Cloud Task (a batched one is not deduplicated by its key)
    // never names it again over a repair's: the sweeper would ask about a task long gone.
    if (renamed && data.cloudTaskId === cloudTaskName('d', data.dispatchId)) return;
    putRunScoped(c, 'dispatch_outbox', {
      ...existing,
      status: 'CREATED',
      cloudTaskId: data.cloudTaskId,
      rowVersion: c.event.eventId,
      // The sweeper's repairs (each names a new Cloud Task), so it stops after a few.
      ...(renamed ? { repairs: Number(existing.repairs ?? 0) + 1 } : {}),
    });
    return;
  }
  if (!data.runId || !data.taskKey || data.attempt === undefined) return;
  const task = taskOf(c, data.runId, data.taskKey);
  if (!task || attemptConsumed(task, data.attempt)) return;
  putRunScoped(c, 'dispatch_outbox', {
    runId: data.runId,
    taskKey: data.taskKey,
    attempt: data.attempt,
    dispatchId: data.dispatchId,
    status: 'CREATED',
    attemptId: '',
    workerQueue: 'default-queue',
    createdAt: c.time,
    cloudTaskId: data.cloudTaskId,
    rowVersion: c.event.eventId,
  });
};

const onTimer: Handler<'timer_requested' | 'timer_enqueued' | 'timer_fired'> = (c, data) => {
  const existing = c.d.get('timers', data.timerId);
  const state = data.type === 'timer_fired' ? 'FIRED' : ((existing?.state as string) ?? 'SCHEDULED');
  if (existing?.state === 'FIRED' && data.type !== 'timer_fired') return;
  if (existing && data.type === 'timer_fired' && existing.state === 'FIRED') return;
  c.d.put('timers', {
    ...(existing ?? {}),
    timerId: data.timerId,
    timerType:
      data.timerType ??
      (existing?.timerType as string) ??
      data.timerId.split(':')[1]?.toUpperCase() ??
      'RETRY',
    ...(data.runId ? { runId: data.runId } : {}),
    ...(data.taskKey ? { taskKey: data.taskKey } : {}),
    ...(data.attempt !== undefined ? { attempt: data.attempt } : {}),
    fireAt:
      (data.type === 'timer_requested' && data.fireAt) ||
      (existing?.fireAt as string) ||
      data.fireAt ||
      c.time,
    ...(data.cloudTaskId ? { cloudTaskId: data.cloudTaskId } : {}),
    state,
    rowVersion: c.event.eventId,
  });
};

const onRunRequested: Handler<'run_requested'> = (c, data) => {
  const existing = c.d.get('run_key_index', data.runKey);
  if (!existing) {
    c.d.put('run_key_index', {
      tenantId: c.event.tenantId,
      workspaceId: c.event.workspaceId,
      runKey: data.runKey,
      runId: data.runId,
      requestFingerprint: data.requestFingerprint,
      createdAt: c.time,
      triggerSourceRef: data.triggerSourceRef,
      ...(data.codeVersion ? { codeVersion: data.codeVersion } : {}),
      rowVersion: c.event.eventId,
    });
    return;
  }
  if (existing.requestFingerprint === data.requestFingerprint || existing.requestFingerprint === '') return;
  c.d.put('run_key_conflicts', {
    conflictId: `conflict:${data.runKey}:${c.event.eventId}`,
    tenantId: c.event.tenantId,
    workspaceId: c.event.workspaceId,
    runKey: data.runKey,
    existingFingerprint: existing.requestFingerprint,
    conflictingFingerprint: data.requestFingerprint,
    conflictingEventId: c.event.eventId,
    detectedAt: c.time,
    rowVersion: c.event.eventId,
  });
};

/**
 * In-place retry (pipeline-ops §3.4, the one exception to "terminal never changes"): the named FAILED
 * tasks go back to READY under their next attempt with a fresh automatic budget; every task SKIPPED only
 * because of them goes back to BLOCKED with those edges reset; the run is RUNNING again.
 */
const onRunRetryRequested: Handler<'run_retry_requested'> = (c, data) => {
  const run = runOf(c, data.runId);
  if (!run || run.state !== 'FAILED' || run.cancelRequested) return;
  const reopened = data.taskKeys
    .map((key) => taskOf(c, data.runId, key))
    .filter((t, i): t is TaskRow => !!t && t.state === 'FAILED' && t.attempt === data.attempts[i]);
  if (!reopened.length) return;
  let { tasksFailed, tasksSkipped, tasksCompleted } = run;
  const reset = new Set<string>();
  for (const task of reopened) {
    const next: TaskRow = {
      ...task,
      state: 'READY',
      attempt: task.attempt + 1,
      maxAttempts: task.attempt + task.maxAttempts,
      manualRetries: (task.manualRetries ?? 0) + 1,
      readyAt: c.time,
      retryReason: 'manual_retry',
      ...(task.lastFailure ? { retryCause: task.lastFailure } : {}),
    };
    delete next.completedAt;
    putTask(c, next);
    reset.add(task.taskKey);
    tasksFailed -= 1;
    tasksCompleted -= 1;
  }
  const queue = [...reset];
  while (queue.length) {
    const upKey = queue.shift()!;
    const upstream = taskOf(c, data.runId, upKey)!;
    for (const downKey of upstream.dependents) {
      const key = edgeKey(data.runId, upKey, downKey);
      const edge = c.d.get<EdgeRow>('dep_satisfaction', key);
      if (edge)
        putRunScoped(c, 'dep_satisfaction', {
          ...edge,
          satisfied: false,
          resolution: undefined,
          rowVersion: c.event.eventId,
        });
      const downstream = taskOf(c, data.runId, downKey);
      if (!downstream || downstream.state !== 'SKIPPED' || reset.has(downKey)) continue;
      const blockedByOthers = downstream.dependsOn.some((up) => {
        if (reset.has(up)) return false;
        const incoming = c.d.get<EdgeRow>('dep_satisfaction', edgeKey(data.runId, up, downKey));
        return incoming?.resolution !== undefined && incoming.resolution !== 'SUCCESS';
      });
      if (blockedByOthers) continue;
      const satisfied = downstream.dependsOn.filter(
        (up) => c.d.get<EdgeRow>('dep_satisfaction', edgeKey(data.runId, up, downKey))?.satisfied,
      ).length;
      const next: TaskRow = { ...downstream, state: 'BLOCKED', depsSatisfiedCount: satisfied };
      delete next.completedAt;
      putTask(c, next);
      reset.add(downKey);
      queue.push(downKey);
      tasksSkipped -= 1;
      tasksCompleted -= 1;
    }
  }
  const reopenedRun: RunRow = { ...run, state: 'RUNNING', tasksFailed, tasksSkipped, tasksCompleted };
  delete reopenedRun.completedAt;
  putRun(c, reopenedRun);
};

const onDispatchesRequested: Handler<'dispatches_requested'> = (c, data) => {
  for (const dispatch of data.dispatches) onDispatchRequested(c, { type: 'dispatch_requested', ...dispatch });
};

const onDispatchesEnqueued: Handler<'dispatches_enqueued'> = (c, data) => {
  for (const dispatch of data.dispatches) onDispatchEnqueued(c, { type: 'dispatch_enqueued', ...dispatch });
};

/** The run aggregate's event handlers. */
export const RUN_HANDLERS = {
  run_triggered: onRunTriggered,
  plan_created: onPlanCreated,
  run_cancel_requested: onRunCancelRequested,
  task_started: onTaskStarted,
  task_heartbeat: onTaskHeartbeat,
  task_finished: onTaskFinished,
  task_completion_recorded: onTaskFinished,
  dispatch_requested: onDispatchRequested,
  dispatch_enqueued: onDispatchEnqueued,
  dispatches_requested: onDispatchesRequested,
  dispatches_enqueued: onDispatchesEnqueued,
  timer_requested: onTimer,
  timer_enqueued: onTimer,
  timer_fired: onTimer,
  run_requested: onRunRequested,
  run_retry_requested: onRunRetryRequested,
} satisfies HandlerTable;
