import type { Scope } from '../../auth/principal.ts';
import { scopedObjectStore } from '../../adapters/scopedObjectStore.ts';
import type { Dependencies } from '../../runtime/dependencies.ts';
import { readPointer } from './currentPointers.ts';
import type { RunRow, TaskRow } from '../run/evolve.ts';
import { ManifestStore } from '../manifestStore.ts';
import { readerFor } from '../orchestrationServices.ts';
import { publicRunState } from '../run/publicStates.ts';
import { resolveDay } from './decide.ts';
import { runManifests, stepManifestPath } from './stepManifests.ts';

interface ChecklistRun {
  runId?: string;
  state: string;
  createdAt?: string;
  completedAt?: string;
  runMode?: string;
  asOf?: { mode?: string; ts?: string };
}

/**
 * The runbook's two-minute checklist for a pipeline and day (pipeline-ops spec §6): did the newest run
 * succeed, what failed with its class, category and retries, do the step manifests exist, and did the
 * current pointers move. Null when the pipeline is not deployed; `requested` is `today`, `yesterday` (in the
 * pipeline's zone) or a calendar day YYYY-MM-DD, else PipelineRunError `invalid_argument` (400).
 */
export async function pipelineChecklist(deps: Dependencies, scope: Scope, name: string, requested: string) {
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  const pipeline = manifest?.pipelines?.find((p) => p.name === name);
  if (!pipeline) return null;
  const date = resolveDay(requested, pipeline.timezone ?? 'UTC', deps.clock.now());
  const partitionKey = `${pipeline.partitionDimension}=d:${date}`;
  const snapshot = await readerFor(deps, scope).snapshot();
  const latest = ((await snapshot.rows('runs')) as unknown as RunRow[])
    .filter(
      (r) => r.labels?.['arco.pipeline'] === pipeline.name && r.labels?.['arco.partition'] === partitionKey,
    )
    .sort((a, b) => (a.triggeredAt < b.triggeredAt ? 1 : -1))[0];
  if (!latest)
    return {
      pipeline: pipeline.name,
      partition: partitionKey,
      verdict: 'attention',
      latestRun: { state: 'NONE' } as ChecklistRun,
      failingTasks: [],
      manifests: [],
      pointers: [],
    };
  const tasks = ((await snapshot.rowsOf('tasks', latest.runId)) as unknown as TaskRow[]).filter(
    (t) => t.runId === latest.runId,
  );
  const state = publicRunState(latest);
  const { manifests } = await runManifests(deps, scope, tasks);
  const objects = scopedObjectStore(deps.objects, scope);
  const pointers = await Promise.all(
    (pipeline.publish?.dataPointers ?? []).map(async (assetKey) => {
      const found = await readPointer(objects, { kind: 'data', assetKey, partitionKey });
      const task = tasks.find((t) => (t.assetKey ?? t.taskKey) === assetKey);
      return {
        assetKey,
        currentRunId: found?.pointer.runId ?? null,
        sequence: found?.pointer.sequence ?? 0,
        promotedAt: found?.pointer.promotedAt ?? null,
        updatedByThisRun: found?.pointer.runId === latest.runId,
        publishStatus:
          found?.pointer.runId === latest.runId
            ? 'promoted'
            : !task || task.state !== 'SUCCEEDED'
              ? state === 'FAILED'
                ? 'failed'
                : 'not_run'
              : found &&
                  'asOfTs' in found.pointer &&
                  found.pointer.asOfTs > (latest.labels['arco.as_of_ts'] ?? '')
                ? 'superseded'
                : 'pending',
      };
    }),
  );
  const failingTasks = tasks
    .filter((t) => t.state === 'FAILED' || t.state === 'RETRY_WAIT')
    .map((t) => ({
      taskKey: t.taskKey,
      attempt: t.attempt,
      maxAttempts: t.maxAttempts,
      retries: Math.max(0, t.attempt - 1),
      errorMessage: t.lastFailure?.message ?? t.errorMessage ?? '',
      failureClass: t.lastFailure?.failureClass ?? 'UNKNOWN',
      ...(t.lastFailure?.code ? { failureCode: t.lastFailure.code } : {}),
      retryCategory: t.lastFailure?.retryCategory ?? 'C',
      ...(t.retryNotBefore ? { nextAttemptAt: t.retryNotBefore } : {}),
      manifestPath: stepManifestPath(t.assetKey ?? t.taskKey, t.partitionKey, latest.runId),
      triageCommand: `arco triage ${latest.runId}`,
    }));
  const ok =
    state === 'SUCCEEDED' &&
    manifests.every((m) => m.manifestState === 'written') &&
    pointers.every((p) => p.updatedByThisRun);
  return {
    pipeline: pipeline.name,
    partition: partitionKey,
    verdict: ok ? 'ok' : 'attention',
    latestRun: {
      runId: latest.runId,
      state,
      createdAt: latest.triggeredAt,
      ...(latest.completedAt ? { completedAt: latest.completedAt } : {}),
      runMode: latest.labels['arco.run_mode'],
      asOf: { mode: latest.labels['arco.as_of_mode'], ts: latest.labels['arco.as_of_ts'] },
    },
    failingTasks,
    manifests: manifests.map((m) => ({
      assetKey: m.taskKey,
      expected: true,
      ...(m.status ? { status: m.status } : {}),
      manifestPath: m.manifestPath,
      present: m.manifestState === 'written',
    })),
    pointers,
  };
}

export type Checklist = NonNullable<Awaited<ReturnType<typeof pipelineChecklist>>>;
