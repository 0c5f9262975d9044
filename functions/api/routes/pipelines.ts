import { type Context, Hono } from 'hono';
import { scopedObjectStore } from '../../../shared/adapters/scopedObjectStore.ts';
import { badRequest, notFound } from '../../../shared/core/arcoError.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import type { RunRow, TaskRow } from '../../../shared/orchestration/run/evolve.ts';
import { ManifestStore } from '../../../shared/orchestration/manifestStore.ts';
import { pipelineChecklist } from '../../../shared/orchestration/pipeline/pipelineChecklist.ts';
import { readerFor } from '../../../shared/orchestration/orchestrationServices.ts';
import { sideEffectsOf } from '../../../shared/orchestration/pipeline/pipelineDeclarations.ts';
import {
  listPipelineBackfills,
  type PipelineBackfill,
  publicState,
  readPipelineBackfill,
  summaryOf,
  summaryPath,
} from '../../../shared/orchestration/pipeline/pipelineBackfills.ts';

import {
  attemptManifestPath,
  runManifests,
  stepManifestPath,
} from '../../../shared/orchestration/pipeline/stepManifests.ts';
import { triageRun } from '../../../shared/orchestration/run/triage.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';
import { plainPartitionFields } from '../../../shared/orchestration/run/runViews.ts';
import { assetPartitionKey } from '../../../shared/http/partitionInput.ts';

/**
 * Pipeline operations (pipeline-ops spec §2–§7): pipelines and their resumable runs over date ranges,
 * per-step manifests, data pointers, triage and the daily checklist.
 */
export function pipelineRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const ws = '/workspaces/:workspaceId';
  const scopeOf = (c: Context<AppEnv>) => c.get('principal').scope!;
  const runAndTasks = async (c: Context<AppEnv>, runId: string) => {
    const snapshot = await readerFor(deps, scopeOf(c)).snapshot();
    const run = (await snapshot.rowsOf('runs', runId)).find((r) => r.runId === runId) as RunRow | undefined;
    if (!run) throw notFound(`run not found: ${runId}`);
    const tasks = ((await snapshot.rowsOf('tasks', runId)) as unknown as TaskRow[]).filter(
      (t) => t.runId === runId,
    );
    return { run, tasks };
  };

  routes.get(`${ws}/pipelines`, async (c) => {
    const manifest = await new ManifestStore(deps.documents, scopeOf(c)).latest();
    return c.json({ pipelines: manifest?.pipelines ?? [] });
  });
  routes.get(`${ws}/pipelines/:name`, async (c) => {
    const manifest = await new ManifestStore(deps.documents, scopeOf(c)).latest();
    const pipeline = manifest?.pipelines?.find((p) => p.name === c.req.param('name'));
    if (!pipeline) throw notFound(`pipeline not found: ${c.req.param('name')}`);
    return c.json(pipeline);
  });

  routes.get(`${ws}/pipeline-backfills`, async (c) => {
    const all = await listPipelineBackfills(deps, scopeOf(c));
    const pipeline = c.req.query('pipeline');
    const state = publicState({ state: c.req.query('state')?.toUpperCase() as PipelineBackfill['state'] });
    return c.json({
      backfills: all
        .filter((b) => (!pipeline || b.pipeline === pipeline) && (!state || publicState(b) === state))
        .map(summaryOf),
    });
  });
  routes.get(`${ws}/pipeline-backfills/:id`, async (c) => {
    return c.json(summaryOf(await readPipelineBackfill(deps, scopeOf(c), c.req.param('id'))));
  });
  routes.get(`${ws}/pipeline-backfills/:id/summary`, async (c) => {
    const stored = await scopedObjectStore(deps.objects, scopeOf(c)).get(summaryPath(c.req.param('id')));
    if (!stored) {
      const backfill = await readPipelineBackfill(deps, scopeOf(c), c.req.param('id')).catch(() => null);
      throw notFound('summary not written yet', backfill ? { state: publicState(backfill) } : undefined);
    }
    return c.body(stored.bytes.toString('utf8'), 200, {
      'Content-Type': 'application/json',
      'X-Summary-Path': summaryPath(c.req.param('id')),
    });
  });

  routes.get(`${ws}/manifests/step`, async (c) => {
    const assetKey = c.req.query('assetKey');
    const runId = c.req.query('runId');
    const partition = c.req.query('partitionKey');
    if (!assetKey || !runId) throw badRequest('assetKey and runId are required');
    const partitionKey = partition
      ? await assetPartitionKey(deps, scopeOf(c), assetKey, partition)
      : undefined;
    const attempt = c.req.query('attempt');
    const path = attempt
      ? attemptManifestPath(assetKey, partitionKey, runId, Number(attempt))
      : stepManifestPath(assetKey, partitionKey, runId);
    const stored = await scopedObjectStore(deps.objects, scopeOf(c)).get(path);
    if (!stored) throw notFound('manifest not found', { manifestPath: path, manifestState: 'pending' });
    return c.body(stored.bytes.toString('utf8'), 200, { 'Content-Type': 'application/json' });
  });
  routes.get(`${ws}/runs/:runId/manifests`, async (c) => {
    const { tasks } = await runAndTasks(c, c.req.param('runId'));
    return c.json(await runManifests(deps, scopeOf(c), tasks));
  });

  routes.get(`${ws}/runs/:runId/triage`, async (c) => {
    const { run, tasks } = await runAndTasks(c, c.req.param('runId'));
    const manifest = await new ManifestStore(deps.documents, scopeOf(c)).latest();
    const pipeline = manifest?.pipelines?.find((p) => p.name === run.labels['arco.pipeline']);
    return c.json(plainPartitionFields(triageRun(run, tasks, (asset) => sideEffectsOf(pipeline, asset))));
  });

  // The runbook's two-minute checklist as one answer (spec §6).
  routes.get(`${ws}/pipelines/:name/partitions/:date/checklist`, async (c) => {
    const checklist = await pipelineChecklist(deps, scopeOf(c), c.req.param('name'), c.req.param('date'));
    if (!checklist) throw notFound(`pipeline not found: ${c.req.param('name')}`);
    return c.json(plainPartitionFields(checklist));
  });

  return routes;
}
