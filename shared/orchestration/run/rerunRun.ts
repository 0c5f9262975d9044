import type { Scope } from '../../auth/principal.ts';
import { canonicalJson } from '../../core/canonicalJson.ts';
import { sha256Hex } from '../../core/hashing.ts';
import { ManifestStore } from '../manifestStore.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { canonicalAssetKey, InvalidAssetKeyError } from '../assetKeys.ts';
import type { TaskDef } from '../state/events.ts';
import type { RunRow, TaskRow } from './evolve.ts';
import { readerFor } from '../orchestrationServices.ts';
import { startRun, type TriggerResponse, TriggerError } from './triggerRun.ts';
import { ArcoError } from '../../core/arcoError.ts';

export interface RerunRequest {
  mode: 'fromFailure' | 'subset';
  selection?: string[];
  includeUpstream?: boolean;
  includeDownstream?: boolean;
  runKey?: string;
  labels?: Record<string, string>;
}

export class RunNotFoundError extends ArcoError {
  constructor(message: string) {
    super('not_found', message);
  }
}

const KIND = { fromFailure: 'FROM_FAILURE', subset: 'SUBSET' } as const;
const REASON = { fromFailure: 'from_failure', subset: 'subset' } as const;

/** Closure over the parent plan's edges (spec §13 step 5). */
function closure(tasks: TaskRow[], roots: string[], up: boolean, down: boolean): Set<string> {
  const byKey = new Map(tasks.map((t) => [t.taskKey, t]));
  const selected = new Set(roots);
  const walk = (next: (t: TaskRow) => string[]) => {
    const queue = [...roots];
    while (queue.length) {
      for (const key of next(byKey.get(queue.shift()!)!)) {
        if (selected.has(key)) continue;
        selected.add(key);
        queue.push(key);
      }
    }
  };
  if (up) walk((t) => t.dependsOn);
  if (down) walk((t) => t.dependents);
  return selected;
}

/** POST /runs/{runId}/rerun (spec §13): a new run of the parent's unsucceeded tasks, or of a subset. */
export async function rerunRun(
  deps: Dependencies,
  scope: Scope,
  userId: string,
  parentRunId: string,
  request: RerunRequest,
): Promise<{
  status: 200 | 201;
  body: TriggerResponse & { parentRunId: string; rerunKind: string; rerunReason: string };
}> {
  const reserved = Object.keys(request.labels ?? {}).filter((k) => k.startsWith('arco.'));
  if (reserved.length)
    throw new TriggerError('invalid_argument', `reserved labels cannot be set: ${reserved.join(', ')}`);
  const snapshot = await readerFor(deps, scope).snapshot();
  const parent = (await snapshot.rowsOf('runs', parentRunId)).find((r) => r.runId === parentRunId) as
    RunRow | undefined;
  if (!parent) throw new RunNotFoundError(`run not found: ${parentRunId}`);
  if (request.mode === 'fromFailure' && parent.state !== 'FAILED')
    throw new TriggerError('conflict', 'rerun-from-failure requires a FAILED parent run');
  const tasks = ((await snapshot.rowsOf('tasks', parentRunId)) as TaskRow[]).filter(
    (t) => t.runId === parentRunId,
  );
  if (!tasks.length) throw new TriggerError('conflict', 'parent run has no plan; cannot rerun');

  let selected: Set<string>;
  let roots: string[];
  const up = request.mode === 'subset' && (request.includeUpstream ?? false);
  const down = request.mode === 'subset' && (request.includeDownstream ?? false);
  if (request.mode === 'fromFailure') {
    roots = tasks.filter((t) => t.state !== 'SUCCEEDED').map((t) => t.taskKey);
    selected = new Set(roots);
  } else {
    if (!request.selection?.length) throw new TriggerError('invalid_argument', 'selection cannot be empty');
    try {
      roots = [...new Set(request.selection.map(canonicalAssetKey))].sort();
    } catch (error) {
      if (error instanceof InvalidAssetKeyError) throw new TriggerError('invalid_argument', error.message);
      throw error;
    }
    const known = new Set(tasks.map((t) => t.taskKey));
    const unknown = roots.filter((r) => !known.has(r));
    if (unknown.length)
      throw new TriggerError('invalid_argument', `unknown task keys: ${unknown.join(', ')}`);
    selected = closure(tasks, roots, up, down);
  }
  if (!selected.size) throw new TriggerError('invalid_argument', 'rerun selection is empty');

  const kind = KIND[request.mode];
  const selectedTasks = [...selected].sort();
  const partitionKeys = [
    ...new Set(tasks.filter((t) => selected.has(t.taskKey) && t.partitionKey).map((t) => t.partitionKey!)),
  ].sort();
  const labels = { ...(request.labels ?? {}), 'arco.parent_run_id': parentRunId, 'arco.rerun.kind': kind };
  const fingerprint = sha256Hex(
    canonicalJson({
      parentRunId,
      rerunKind: kind,
      roots: [...roots].sort(),
      includeUpstream: up,
      includeDownstream: down,
      selectedTasks,
      partitionKeys,
      labels,
    }),
  );
  const runKey =
    request.runKey ??
    `rerun:${parentRunId}:${REASON[request.mode]}:${sha256Hex(canonicalJson({ parentRunId, rerunKind: kind, selectedTasks, partitionKeys })).slice(0, 16)}`;
  // The plan is the parent's (its tasks and edges); how each task runs is the latest deployed code's,
  // so "fix and deploy, then rerun from the failure" reruns the fix. An asset no longer deployed keeps
  // the parent's settings.
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  const deployed = new Map((manifest?.assets ?? []).map((asset) => [asset.key, asset]));
  const defs: TaskDef[] = tasks
    .filter((t) => selected.has(t.taskKey))
    .sort((a, b) => (a.taskKey < b.taskKey ? -1 : 1))
    .map((t) => {
      const asset = deployed.get(t.assetKey ?? t.taskKey);
      const workerUrl = asset ? asset.workerUrl : t.workerUrl;
      const payload = asset ? asset.payload : t.payload;
      return {
        key: t.taskKey,
        dependsOn: t.dependsOn.filter((d) => selected.has(d)),
        ...(t.assetKey ? { assetKey: t.assetKey } : {}),
        ...(t.partitionKey ? { partitionKey: t.partitionKey } : {}),
        maxAttempts: asset?.retryPolicy.maxAttempts ?? t.maxAttempts,
        heartbeatTimeoutSec: asset?.heartbeatTimeoutSec ?? t.heartbeatTimeoutSec,
        requiresVisibleOutput: t.requiresVisibleOutput,
        initialBackoffSeconds: asset?.retryPolicy.initialBackoffSeconds ?? t.initialBackoffSeconds,
        maxBackoffSeconds: asset?.retryPolicy.maxBackoffSeconds ?? t.maxBackoffSeconds,
        ...(workerUrl ? { workerUrl } : {}),
        ...(payload && Object.keys(payload).length ? { payload } : {}),
      };
    });
  const codeVersion = manifest?.codeVersionId ?? parent.codeVersion;
  const result = await startRun(deps, scope, runKey, fingerprint, (runId, planId) => ({
    runTriggered: {
      type: 'run_triggered',
      runId,
      planId,
      trigger: { manual: { userId } },
      rootAssets: [...roots].sort(),
      runKey,
      labels,
      ...(codeVersion ? { codeVersion } : {}),
    },
    planCreated: { type: 'plan_created', runId, planId, tasks: defs },
  }));
  return {
    status: result.status,
    body: { ...result.body, parentRunId, rerunKind: kind, rerunReason: REASON[request.mode] },
  };
}
