import type { ObjectStore } from '../../adapters/objectStore.ts';
import type { Scope } from '../../auth/principal.ts';
import { scopedObjectStore } from '../../adapters/scopedObjectStore.ts';
import { mapLimit } from '../../core/mapLimit.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { isTerminal, type RunRow, type TaskRow } from '../run/evolve.ts';
import { partitionValues } from '../partitionKeys.ts';
import { type FoldState, keyOf } from '../state/projectionTables.ts';
import { publicTaskState } from '../run/publicStates.ts';

/**
 * Per-step run manifests (pipeline-ops spec §2): written by the platform, not the worker, for every
 * terminal step of every run and every failed or finished attempt, at paths computable from (asset,
 * partition, run[, attempt]) so "do manifests exist" is answered by known-key reads. Attempt manifests
 * are create-only; a step manifest is replaced only by a later attempt of the same step (an in-place retry).
 */
export function partitionPath(partitionKey: string | undefined): string {
  if (!partitionKey) return '_unpartitioned';
  const values = partitionValues(partitionKey);
  return Object.keys(values)
    .sort()
    .map((dim) => `${dim}=${encodeURIComponent(values[dim]!)}`)
    .join('/');
}

export const stepManifestDir = (assetKey: string, partitionKey: string | undefined, runId: string) =>
  `manifests/${assetKey}/${partitionPath(partitionKey)}/run=${runId}`;
export const stepManifestPath = (assetKey: string, partitionKey: string | undefined, runId: string) =>
  `${stepManifestDir(assetKey, partitionKey, runId)}/manifest.json`;
export const attemptManifestPath = (
  assetKey: string,
  partitionKey: string | undefined,
  runId: string,
  attempt: number,
) => `${stepManifestDir(assetKey, partitionKey, runId)}/attempts/${String(attempt).padStart(4, '0')}.json`;

const STATUS: Record<string, string> = {
  SUCCEEDED: 'success',
  FAILED: 'failed',
  SKIPPED: 'skipped',
  CANCELLED: 'cancelled',
};
const PLATFORM_VERSION = 'arco-serverless/0.1.0';

interface Report {
  inputs?: unknown[];
  outputs?: Array<Record<string, unknown>>;
  checks?: Array<Record<string, unknown>>;
  params?: Record<string, unknown>;
  environment?: Record<string, unknown>;
}

/** Models the run pinned at its start (labels `arco.model.{name}` = `{runId}@{sequence}`), as inputs. */
function pinnedModels(labels: Record<string, string>) {
  return Object.entries(labels)
    .filter(([key]) => key.startsWith('arco.model.'))
    .map(([key, value]) => {
      const name = key.slice('arco.model.'.length);
      const [runId, sequence] = value.split('@');
      return {
        name,
        kind: 'model',
        modelName: name,
        runId,
        pointerSequence: Number(sequence),
        ...(labels[`arco.model_uri.${name}`] ? { artifactUri: labels[`arco.model_uri.${name}`] } : {}),
        required: true,
      };
    });
}

/** The manifest document (v1) of a task as the fold holds it. */
export function manifestDocument(
  scope: Scope,
  run: RunRow,
  task: TaskRow,
  kind: 'step' | 'attempt',
  tasksOfRun: TaskRow[],
  now: string,
): Record<string, unknown> {
  const labels = run.labels ?? {};
  const assetKey = task.assetKey ?? task.taskKey;
  const report = (task.report ?? {}) as Report;
  const state = kind === 'attempt' && task.state === 'RETRY_WAIT' ? 'FAILED' : task.state;
  const failure =
    task.lastFailure && (state === 'FAILED' || kind === 'attempt') ? task.lastFailure : undefined;
  const finishedAt = task.completedAt ?? now;
  const upstream = (task.dependsOn ?? []).map((dep) => {
    const up = tasksOfRun.find((t) => t.taskKey === dep);
    return {
      name: dep,
      kind: 'asset',
      assetKey: up?.assetKey ?? dep,
      ...(up?.partitionKey ? { partitionKey: up.partitionKey } : {}),
      runId: run.runId,
      manifestPath: stepManifestPath(up?.assetKey ?? dep, up?.partitionKey, run.runId),
      ...(up?.deltaTable ? { deltaTable: up.deltaTable, deltaVersion: up.deltaVersion } : {}),
      required: true,
    };
  });
  // Steps a partial rerun did not re-execute: read from the runs pinned when the rerun was planned.
  const pinnedUpstream = Object.entries(
    JSON.parse(labels['arco.pipeline_upstream'] ?? '{}') as Record<string, string>,
  ).map(([dep, runId]) => ({
    name: dep,
    kind: 'asset',
    assetKey: dep,
    ...(task.partitionKey ? { partitionKey: task.partitionKey } : {}),
    runId,
    manifestPath: stepManifestPath(dep, task.partitionKey, runId),
    required: true,
  }));
  const deltaOutput = task.deltaTable
    ? [
        {
          name: assetKey,
          uri: `delta://${task.deltaTable}`,
          deltaTable: task.deltaTable,
          deltaVersion: task.deltaVersion,
          rowCount: 0,
        },
      ]
    : [];
  return {
    manifestVersion: 'v1',
    kind,
    tenantId: scope.tenant,
    workspaceId: scope.workspace,
    ...(labels['arco.pipeline'] ? { pipeline: labels['arco.pipeline'] } : {}),
    assetKey,
    partition: {
      key: task.partitionKey ?? null,
      values: task.partitionKey ? partitionValues(task.partitionKey) : {},
    },
    runId: run.runId,
    ...(labels['arco.parent_run_id'] ? { parentRunId: labels['arco.parent_run_id'] } : {}),
    ...(labels['arco.pipeline_backfill_id'] ? { backfillId: labels['arco.pipeline_backfill_id'] } : {}),
    attempt: task.attempt,
    attemptId: task.attemptId ?? null,
    asOf: {
      mode: labels['arco.as_of_mode'] ?? 'now',
      ts: labels['arco.as_of_ts'] ?? run.triggeredAt,
      clamped: labels['arco.as_of_clamped'] === 'true',
    },
    runMode: labels['arco.run_mode'] ?? 'live',
    status: STATUS[state] ?? 'failed',
    timing: {
      ...(task.readyAt ? { readyAt: task.readyAt } : {}),
      ...(task.startedAt ? { startedAt: task.startedAt } : {}),
      finishedAt,
      ...(task.startedAt ? { durationMs: Date.parse(finishedAt) - Date.parse(task.startedAt) } : {}),
    },
    inputs: [...upstream, ...pinnedUpstream, ...pinnedModels(labels), ...(report.inputs ?? [])],
    outputs: [...deltaOutput, ...(report.outputs ?? [])],
    checks: [
      ...(report.checks ?? []),
      ...(state === 'SUCCEEDED'
        ? [{ name: 'manifest_complete', kind: 'custom', status: 'pass', blocking: true }]
        : []),
    ],
    ...(failure
      ? {
          error: {
            failureClass: failure.failureClass ?? 'UNKNOWN',
            ...(failure.code ? { code: failure.code } : {}),
            retryCategory: failure.retryCategory ?? 'C',
            category: failure.errorCategory ?? 'USER_CODE',
            message: failure.message ?? '',
            ...(failure.signature ? { signature: failure.signature } : {}),
            retryable: failure.retryable,
          },
        }
      : {}),
    retry: {
      attempt: task.attempt,
      maxAttempts: task.maxAttempts,
      retries: Math.max(0, task.attempt - 1),
      manualRetries: task.manualRetries ?? 0,
      willRetry: task.state === 'RETRY_WAIT',
      ...(task.retryNotBefore ? { nextAttemptAt: task.retryNotBefore } : {}),
    },
    environment: {
      codeVersion: run.codeVersion ?? null,
      platformVersion: PLATFORM_VERSION,
      orchestratorRunId: run.runId,
      ...(task.workerId ? { workerId: task.workerId } : {}),
      ...(report.environment ?? {}),
    },
    ...(report.params ? { params: report.params } : {}),
    writtenAt: now,
  };
}

/**
 * Manifests this process has written or found written, per bucket (object store), as tenant-scoped
 * path → attempt. A task's row changes again after it became terminal (a late dispatch
 * acknowledgement, for one), and each change would otherwise cost a create-only write answered 412.
 * Bounded; a path forgotten or never seen here (another instance, a restart) costs that one
 * harmless write.
 */
const written = new WeakMap<ObjectStore, Map<string, number>>();
const REMEMBERED_MANIFESTS = 50_000;

function writtenIn(bucket: ObjectStore): Map<string, number> {
  let paths = written.get(bucket);
  if (!paths) written.set(bucket, (paths = new Map()));
  return paths;
}

function remember(paths: Map<string, number>, key: string, attempt: number) {
  paths.delete(key);
  paths.set(key, attempt);
  if (paths.size > REMEMBERED_MANIFESTS) paths.delete(paths.keys().next().value!);
}

const memoKey = (scope: Scope, path: string) => `${scope.tenant}/${scope.workspace}/${path}`;

/** True when this process knows the manifest at `path` holds `attempt` (or, for a step, a later one). */
function known(
  paths: Map<string, number>,
  scope: Scope,
  path: string,
  attempt: number,
  replaceIfOlder: boolean,
) {
  const stored = paths.get(memoKey(scope, path));
  return stored !== undefined && (!replaceIfOlder || stored >= attempt);
}

interface ManifestWrite {
  path: string;
  document: Record<string, unknown>;
  attempt: number;
  /** A step manifest: replaced by a later attempt's. An attempt manifest is create-only. */
  replaceIfOlder: boolean;
}

async function writeOnce(
  objects: ObjectStore,
  paths: Map<string, number>,
  scope: Scope,
  { path, document, attempt, replaceIfOlder }: ManifestWrite,
) {
  const key = memoKey(scope, path);
  const bytes = JSON.stringify(document, null, 2);
  const created = await objects.put(path, bytes, { ifGenerationMatch: 0, contentType: 'application/json' });
  if (created.status === 'written' || !replaceIfOlder) return remember(paths, key, attempt);
  const existing = await objects.get(path);
  if (!existing) return;
  const previous = JSON.parse(existing.bytes.toString('utf8')) as { attempt: number };
  if (previous.attempt >= attempt) return remember(paths, key, previous.attempt);
  const replaced = await objects.put(path, bytes, {
    ifGenerationMatch: existing.generation,
    contentType: 'application/json',
  });
  if (replaced.status === 'written') remember(paths, key, attempt);
}

/**
 * After a fold: the manifests of the attempts that just finished and the steps that just became
 * terminal, for the tasks this fold changed only (so the cost follows the changes, not the run's size
 * or history). Create-only writes: writing one again is a 412 and harmless.
 */
export async function writeStepManifests(
  deps: Dependencies,
  scope: Scope,
  state: FoldState,
  taskKeys: Iterable<string>,
) {
  const objects = scopedObjectStore(deps.objects, scope);
  const now = deps.clock.now().toISOString();
  // Documents are built now, from the state as this fold left it; only the writes wait.
  const writes: ManifestWrite[] = [];
  const paths = writtenIn(deps.objects);
  for (const key of taskKeys) {
    const task = state.tasks.get(key) as unknown as TaskRow | undefined;
    if (!task) continue;
    const run = state.runs.get(task.runId) as unknown as RunRow | undefined;
    if (!run) continue;
    const upstream = () =>
      (task.dependsOn ?? [])
        .map((dep) => state.tasks.get(keyOf(task.runId, dep)) as unknown as TaskRow | undefined)
        .filter((t): t is TaskRow => t !== undefined);
    const assetKey = task.assetKey ?? task.taskKey;
    const terminal = isTerminal(task.state);
    const attemptPath = attemptManifestPath(assetKey, task.partitionKey, task.runId, task.attempt);
    const stepPath = stepManifestPath(assetKey, task.partitionKey, task.runId);
    if (
      task.attempt >= 1 &&
      (task.state === 'RETRY_WAIT' || (terminal && task.state !== 'SKIPPED')) &&
      !known(paths, scope, attemptPath, task.attempt, false)
    )
      writes.push({
        path: attemptPath,
        document: manifestDocument(scope, run, task, 'attempt', upstream(), now),
        attempt: task.attempt,
        replaceIfOlder: false,
      });
    if (terminal && !known(paths, scope, stepPath, task.attempt, true))
      writes.push({
        path: stepPath,
        document: manifestDocument(scope, run, task, 'step', upstream(), now),
        attempt: task.attempt,
        replaceIfOlder: true,
      });
  }
  await mapLimit(writes, 16, (write) => writeOnce(objects, paths, scope, write));
}

/** Which tasks of a run have their step manifest, by known-key reads (spec §2.5). */
export async function runManifests(deps: Dependencies, scope: Scope, tasks: TaskRow[]) {
  const objects = scopedObjectStore(deps.objects, scope);
  const entries = await Promise.all(
    tasks.map(async (task) => {
      const assetKey = task.assetKey ?? task.taskKey;
      const path = stepManifestPath(assetKey, task.partitionKey, task.runId);
      const stored = isTerminal(task.state) ? await objects.get(path) : null;
      const status = stored
        ? (JSON.parse(stored.bytes.toString('utf8')) as { status: string }).status
        : undefined;
      return {
        taskKey: task.taskKey,
        state: publicTaskState(task),
        manifestPath: path,
        manifestState: stored ? 'written' : 'pending',
        ...(status ? { status } : {}),
        attempts: Array.from({ length: task.attempt }, (_, i) =>
          attemptManifestPath(assetKey, task.partitionKey, task.runId, i + 1),
        ),
      };
    }),
  );
  return {
    manifests: entries,
    missing: entries
      .filter(
        (e) => isTerminal(tasks.find((t) => t.taskKey === e.taskKey)!.state) && e.manifestState === 'pending',
      )
      .map((e) => e.taskKey),
  };
}
