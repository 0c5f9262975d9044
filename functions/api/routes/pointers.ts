import { type Context, Hono } from 'hono';
import { scopedObjectStore } from '../../../shared/adapters/scopedObjectStore.ts';
import { ArcoError, badRequest, notFound } from '../../../shared/core/arcoError.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { requireRole } from '../../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../../shared/http/jsonBody.ts';
import {
  movePointer,
  pointerHistory,
  type PointerRef,
  type PointerTarget,
  readPointer,
  rollbackTarget,
  targetOf,
} from '../../../shared/orchestration/pipeline/currentPointers.ts';
import type { RunRow, TaskRow } from '../../../shared/orchestration/run/evolve.ts';
import { plainPartitionKey } from '../../../shared/orchestration/partitionKeys.ts';
import { readerFor } from '../../../shared/orchestration/orchestrationServices.ts';
import { plainPartitionFields } from '../../../shared/orchestration/run/runViews.ts';
import { publicRunState, publicTaskState } from '../../../shared/orchestration/run/publicStates.ts';
import { stepManifestPath } from '../../../shared/orchestration/pipeline/stepManifests.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';
import { assetPartitionKey } from '../../../shared/http/partitionInput.ts';

const moveFields = {
  expectedSequence: { type: 'integer', minimum: 0 },
  reason: { type: 'string', minLength: 1, maxLength: 1024 },
} as const;

const dataPromote = validator<{
  assetKey: string;
  partitionKey: string;
  runId: string;
  expectedSequence?: number;
  allowOlder?: boolean;
  reason?: string;
}>({
  type: 'object',
  additionalProperties: false,
  required: ['assetKey', 'partitionKey', 'runId'],
  properties: {
    assetKey: { type: 'string' },
    partitionKey: { type: 'string' },
    runId: { type: 'string' },
    allowOlder: { type: 'boolean' },
    ...moveFields,
  },
});
const modelPromote = validator<{
  runId: string;
  artifactUri: string;
  meta?: Record<string, unknown>;
  smokeRunId?: string;
  expectedSequence?: number;
  reason?: string;
}>({
  type: 'object',
  additionalProperties: false,
  required: ['runId', 'artifactUri'],
  properties: {
    runId: { type: 'string' },
    artifactUri: { type: 'string', minLength: 1 },
    meta: { type: 'object' },
    smokeRunId: { type: 'string' },
    ...moveFields,
  },
});
const rollback = validator<{
  assetKey?: string;
  partitionKey?: string;
  toSequence?: number;
  toRunId?: string;
  expectedSequence?: number;
  reason: string;
}>({
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: {
    assetKey: { type: 'string' },
    partitionKey: { type: 'string' },
    toSequence: { type: 'integer', minimum: 1 },
    toRunId: { type: 'string' },
    ...moveFields,
  },
});

/**
 * "Current" pointers (pipeline-ops spec §5.6): data pointers per asset partition and model pointers
 * per model; reads for every role, promote and rollback for operators, every move a compare-and-swap.
 */
export function pointerRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const ws = '/workspaces/:workspaceId';
  const objectsOf = (c: Context<AppEnv>) => scopedObjectStore(deps.objects, c.get('principal').scope!);
  /** A data pointer's asset and partition (any form docs/partition-keys.md accepts, typed by the asset). */
  const dataRef = async (
    c: Context<AppEnv>,
    assetKey?: string,
    partitionKey?: string,
  ): Promise<PointerRef> => {
    if (!assetKey || !partitionKey) throw badRequest('assetKey and partitionKey are required');
    const scope = c.get('principal').scope!;
    return {
      kind: 'data',
      assetKey,
      partitionKey: await assetPartitionKey(deps, scope, assetKey, partitionKey),
    };
  };
  const modelRef = async (c: Context<AppEnv>): Promise<PointerRef> => ({
    kind: 'model',
    name: c.req.param('name')!,
  });
  /** A model artifact must carry a meta.json (the runbook's rule); artifacts live in the workspace's bucket prefix. */
  const artifactKey = (c: Context<AppEnv>, uri: string) => {
    const scope = c.get('principal').scope!;
    const prefix = `gs://${deps.config.bucket}/tenant=${scope.tenant}/workspace=${scope.workspace}/`;
    const key = uri.startsWith(prefix) ? uri.slice(prefix.length) : uri.startsWith('gs://') ? null : uri;
    if (key === null) throw badRequest(`artifactUri must be under ${prefix} (or a key relative to it)`);
    return `${key.replace(/\/+$/, '')}/meta.json`;
  };
  const show = (ref: (c: Context<AppEnv>) => Promise<PointerRef>) => async (c: Context<AppEnv>) => {
    const found = await readPointer(objectsOf(c), await ref(c));
    if (!found) throw notFound('pointer not found');
    return c.json(plainPartitionFields({ ...found.pointer, generation: found.generation }));
  };
  const history = (ref: (c: Context<AppEnv>) => Promise<PointerRef>) => async (c: Context<AppEnv>) =>
    c.json(
      plainPartitionFields({
        entries: await pointerHistory(objectsOf(c), await ref(c), Number(c.req.query('limit') ?? 50)),
      }),
    );
  const move = async (
    c: Context<AppEnv>,
    ref: PointerRef,
    target: PointerTarget,
    body: { expectedSequence?: number; reason?: string; allowOlder?: boolean },
    action: 'promote' | 'rollback',
  ) => {
    return c.json(
      plainPartitionFields(
        await movePointer(objectsOf(c), ref, target, {
          action,
          by: c.get('principal').subject,
          at: deps.clock.now().toISOString(),
          ...(body.reason ? { reason: body.reason } : {}),
          ...(body.expectedSequence !== undefined ? { expectedSequence: body.expectedSequence } : {}),
          ...(body.allowOlder || action === 'rollback' ? { allowOlder: true } : {}),
        }),
      ),
    );
  };

  routes.get(
    `${ws}/pointers/data`,
    show((c) => dataRef(c, c.req.query('assetKey'), c.req.query('partitionKey'))),
  );
  routes.get(
    `${ws}/pointers/data/history`,
    history((c) => dataRef(c, c.req.query('assetKey'), c.req.query('partitionKey'))),
  );
  routes.get(`${ws}/pointers/models/:name`, show(modelRef));
  routes.get(`${ws}/pointers/models/:name/history`, history(modelRef));

  routes.post(`${ws}/pointers/data/promote`, requireRole('operator'), async (c) => {
    const body = await readJsonBody(c, dataPromote);
    const ref = (await dataRef(c, body.assetKey, body.partitionKey)) as Extract<PointerRef, { kind: 'data' }>;
    const snapshot = await readerFor(deps, c.get('principal').scope!).snapshot();
    const run = (await snapshot.rowsOf('runs', body.runId)).find((r) => r.runId === body.runId) as
      RunRow | undefined;
    const task = ((await snapshot.rowsOf('tasks', body.runId)) as unknown as TaskRow[]).find(
      (t) =>
        t.runId === body.runId &&
        (t.assetKey ?? t.taskKey) === body.assetKey &&
        t.partitionKey === ref.partitionKey,
    );
    if (!run || publicRunState(run) !== 'SUCCEEDED' || !task || publicTaskState(task) !== 'SUCCEEDED')
      throw new ArcoError(
        'conflict',
        `run ${body.runId} has no succeeded ${body.assetKey} for ${plainPartitionKey(ref.partitionKey)}`,
        {
          reason: 'not_promotable',
        },
      );
    const manifestPath = stepManifestPath(body.assetKey, ref.partitionKey, body.runId);
    if (!(await objectsOf(c).head(manifestPath)))
      throw new ArcoError('conflict', 'the step manifest is not written yet', {
        reason: 'manifest_pending',
        manifestPath,
      });
    const outputs = task.deltaTable
      ? [{ name: body.assetKey, deltaTable: task.deltaTable, deltaVersion: task.deltaVersion }]
      : [];
    return move(
      c,
      ref,
      {
        runId: run.runId,
        manifestPath,
        outputs,
        asOfTs: run.labels['arco.as_of_ts'] ?? run.triggeredAt,
        codeVersion: run.codeVersion ?? null,
      },
      body,
      'promote',
    );
  });

  routes.post(`${ws}/pointers/models/:name/promote`, requireRole('operator'), async (c) => {
    const body = await readJsonBody(c, modelPromote);
    const meta = artifactKey(c, body.artifactUri);
    if (!(await objectsOf(c).head(meta)))
      throw new ArcoError('conflict', `the artifact has no meta.json (${meta})`, {
        reason: 'artifact_meta_missing',
      });
    return move(
      c,
      await modelRef(c),
      {
        runId: body.runId,
        artifactUri: body.artifactUri,
        meta: body.meta ?? {},
        ...(body.smokeRunId ? { smokeRunId: body.smokeRunId } : {}),
      },
      body,
      'promote',
    );
  });

  const rollbackRoute =
    (ref: (c: Context<AppEnv>, body: { assetKey?: string; partitionKey?: string }) => Promise<PointerRef>) =>
    async (c: Context<AppEnv>) => {
      const body = await readJsonBody(c, rollback);
      const pointer = await ref(c, body);
      const { target } = await rollbackTarget(objectsOf(c), pointer, body);
      const still = 'manifestPath' in target ? target.manifestPath : artifactKey(c, target.artifactUri);
      if (!(await objectsOf(c).head(still)))
        throw new ArcoError('conflict', `the rollback target is gone (${still})`, {
          reason: 'target_missing',
        });
      return await move(c, pointer, targetOf(target), body, 'rollback');
    };
  routes.post(
    `${ws}/pointers/data/rollback`,
    requireRole('operator'),
    rollbackRoute((c, body) => dataRef(c, body.assetKey, body.partitionKey)),
  );
  routes.post(
    `${ws}/pointers/models/:name/rollback`,
    requireRole('operator'),
    rollbackRoute((c) => modelRef(c)),
  );
  return routes;
}
