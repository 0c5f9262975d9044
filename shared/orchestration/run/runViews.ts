/** API views of projection rows (orchestration spec §7.3, §8, §11, §20.6). Pure functions of rows. */
import type { EdgeRow, RunRow, TaskFailure, TaskRow } from './evolve.ts';
import { publicRunState, publicTaskState } from './publicStates.ts';
import { hivePartitionPath, plainPartitionKey } from '../partitionKeys.ts';
import type { Row } from '../state/projectionTables.ts';
import { stepManifestPath } from '../pipeline/stepManifests.ts';

/** The deltaPartition inside an executionLineageRef, in Hive style; the key order (§17.2) is kept. */
function lineageRefView(ref: string): string {
  try {
    const parsed = JSON.parse(ref) as Record<string, unknown>;
    if (typeof parsed.deltaPartition !== 'string') return ref;
    return JSON.stringify({ ...parsed, deltaPartition: hivePartitionPath(parsed.deltaPartition) });
  } catch {
    return ref;
  }
}

const plainList = (value: unknown) =>
  Array.isArray(value)
    ? value.map((v) => (typeof v === 'string' ? plainPartitionKey(v) : plainPartitionFields(v)))
    : value;

/** Fields that hold a partition key, and how a person reads each (docs/partition-keys.md). */
const PARTITION_FIELDS: Record<string, (value: unknown) => unknown> = {
  partitionKey: (v) => (typeof v === 'string' ? plainPartitionKey(v) : v),
  partition: (v) => (typeof v === 'string' ? plainPartitionKey(v) : plainPartitionFields(v)),
  'arco.partition': (v) => (typeof v === 'string' ? plainPartitionKey(v) : v),
  deltaPartition: (v) => (typeof v === 'string' ? hivePartitionPath(v) : v),
  executionLineageRef: (v) => (typeof v === 'string' ? lineageRefView(v) : v),
  partitionKeys: plainList,
  partitions: plainList,
};

/**
 * An API answer as people read it: every partition key in its plain form (`partitionKey`,
 * `partitionKeys`, `partition`, `partitions`, the `arco.partition` label), `deltaPartition` in Delta's
 * Hive style, also inside `executionLineageRef`. The canonical keys stay in storage, run keys and paths;
 * strings that are not canonical keys (a day, a worker's own text) are left as they are. Pure.
 */
export function plainPartitionFields<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => plainPartitionFields(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, (PARTITION_FIELDS[key] ?? plainPartitionFields)(v)]),
  ) as T;
}

const RERUN_REASONS: Record<string, string> = { FROM_FAILURE: 'from_failure', SUBSET: 'subset' };

export function rerunInfo(run: RunRow) {
  const parentRunId = run.labels['arco.parent_run_id'];
  const kind = run.labels['arco.rerun.kind'];
  if (!parentRunId || !kind || !RERUN_REASONS[kind]) return {};
  return { parentRunId, rerunKind: kind, rerunReason: RERUN_REASONS[kind] };
}

/** Deterministic: the earliest failing incoming edge, ties broken by upstream key, then row version (§11). */
export function skipAttribution(task: TaskRow, edges: EdgeRow[]) {
  if (task.state !== 'SKIPPED') return undefined;
  const causes = edges
    .filter((e) => e.downstreamTaskKey === task.taskKey && e.resolution && e.resolution !== 'SUCCESS')
    .sort(
      (a, b) =>
        Date.parse(a.satisfiedAt ?? '') - Date.parse(b.satisfiedAt ?? '') ||
        (a.upstreamTaskKey < b.upstreamTaskKey ? -1 : a.upstreamTaskKey > b.upstreamTaskKey ? 1 : 0) ||
        (a.rowVersion < b.rowVersion ? -1 : 1),
    );
  const first = causes[0];
  return first
    ? { upstreamTaskKey: first.upstreamTaskKey, upstreamResolution: first.resolution! }
    : undefined;
}

/**
 * Spec §11 retry attribution of a task on attempt > 1: why this attempt exists and what the attempt it
 * retries failed with. Rows folded before `retryCause` existed fall back to `lastFailure` when it is an
 * earlier attempt's (when the current attempt failed too, it is the current one's, not the cause).
 */
export function retryAttribution(task: TaskRow) {
  if (task.attempt <= 1) return undefined;
  const earlier = (failure?: TaskFailure) =>
    failure && failure.attempt < task.attempt ? failure : undefined;
  const previous = earlier(task.retryCause) ?? earlier(task.lastFailure);
  return {
    retries: task.attempt - 1,
    attempt: task.attempt,
    maxAttempts: task.maxAttempts,
    reason: task.retryReason ?? 'prior_attempt_failed',
    ...(previous
      ? {
          previousAttempt: {
            attempt: previous.attempt,
            ...(previous.failureClass ? { failureClass: previous.failureClass } : {}),
            ...(previous.errorCategory ? { errorCategory: previous.errorCategory } : {}),
            ...(previous.message ? { message: previous.message } : {}),
          },
        }
      : {}),
  };
}

const pick = <T extends object, K extends keyof T>(row: T, keys: K[]) =>
  Object.fromEntries(
    keys.filter((k) => row[k] !== undefined && row[k] !== null).map((k) => [k, row[k]]),
  ) as unknown as Partial<T>;

/**
 * TaskSummary of spec §20.6 plus pipeline-ops §2.1's `manifestPath`: where the platform writes the
 * task's step manifest once it is terminal (known before it is written; the attempt manifests sit under
 * the same directory).
 */
export function taskSummary(task: TaskRow, edges: EdgeRow[]) {
  const lineage =
    task.state === 'SUCCEEDED'
      ? pick(task, ['executionLineageRef', 'deltaTable', 'deltaVersion', 'deltaPartition'])
      : {};
  const retry = retryAttribution(task);
  const skip = skipAttribution(task, edges);
  return plainPartitionFields({
    taskKey: task.taskKey,
    ...pick(task, ['assetKey', 'partitionKey']),
    state: publicTaskState(task),
    attempt: task.attempt,
    maxAttempts: task.maxAttempts,
    dependsOn: task.dependsOn,
    manifestPath: stepManifestPath(task.assetKey ?? task.taskKey, task.partitionKey, task.runId),
    ...pick(task, ['startedAt', 'completedAt', 'errorMessage', 'retryNotBefore']),
    ...(task.lastFailure?.failureClass ? { failureClass: task.lastFailure.failureClass } : {}),
    ...(task.lastFailure?.code ? { failureCode: task.lastFailure.code } : {}),
    ...(task.lastFailure?.retryCategory ? { retryCategory: task.lastFailure.retryCategory } : {}),
    ...(task.manualRetries ? { manualRetries: task.manualRetries } : {}),
    ...(task.lastFailure?.errorCategory ? { errorCategory: task.lastFailure.errorCategory } : {}),
    ...lineage,
    ...(retry ? { retryAttribution: retry } : {}),
    ...(skip ? { skipAttribution: skip } : {}),
  });
}

export function runResponse(run: RunRow, tasks: TaskRow[], edges: EdgeRow[], workspaceId: string) {
  const states = tasks.map(publicTaskState);
  const count = (s: string) => states.filter((x) => x === s).length;
  const started = tasks
    .map((t) => t.startedAt)
    .filter((s): s is string => !!s)
    .sort()[0];
  const state = publicRunState(run);
  const terminal = state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED';
  return {
    runId: run.runId,
    workspaceId,
    planId: run.planId,
    state,
    createdAt: run.triggeredAt,
    ...(started ? { startedAt: started } : {}),
    ...(terminal && run.completedAt ? { completedAt: run.completedAt } : {}),
    ...(run.runKey ? { runKey: run.runKey } : {}),
    tasks: [...tasks].sort((a, b) => (a.taskKey < b.taskKey ? -1 : 1)).map((t) => taskSummary(t, edges)),
    taskCounts: {
      total: run.tasksTotal,
      pending: count('PENDING'),
      queued: count('QUEUED'),
      running: count('RUNNING'),
      succeeded: run.tasksSucceeded,
      failed: run.tasksFailed,
      skipped: run.tasksSkipped,
      cancelled: run.tasksCancelled,
    },
    labels: plainPartitionFields(run.labels),
    ...(run.codeVersion ? { codeVersion: run.codeVersion } : {}),
    ...rerunInfo(run),
  };
}

export function runListItem(run: RunRow) {
  const { parentRunId, rerunKind } = rerunInfo(run);
  const state = publicRunState(run);
  return {
    runId: run.runId,
    state,
    createdAt: run.triggeredAt,
    ...((state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED') && run.completedAt
      ? { completedAt: run.completedAt }
      : {}),
    taskCount: run.tasksTotal,
    tasksSucceeded: run.tasksSucceeded,
    tasksFailed: run.tasksFailed,
    ...(parentRunId ? { parentRunId, rerunKind } : {}),
  };
}

export function partitionResponse(row: Row) {
  return plainPartitionFields({
    assetKey: row.assetKey,
    partitionKey: row.partitionKey,
    ...pick(row, [
      'lastMaterializationRunId',
      'lastMaterializationAt',
      'lastAttemptRunId',
      'lastAttemptAt',
      'lastAttemptOutcome',
      'deltaTable',
      'deltaVersion',
      'deltaPartition',
      'executionLineageRef',
    ]),
    isStale: row.staleSince !== undefined,
    ...(row.staleReasonCode ? { staleReason: row.staleReasonCode } : {}),
  });
}
