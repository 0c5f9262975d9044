import { Hono } from 'hono';
import { ArcoError, notFound } from '../../shared/core/arcoError.ts';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { requireRole } from '../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import type { RunRow } from '../../shared/orchestration/run/evolve.ts';
import { readerFor } from '../../shared/orchestration/orchestrationServices.ts';
import { appendVisible } from '../../shared/orchestration/state/visibility.ts';
import { publicRunState } from '../../shared/orchestration/run/runViews.ts';
import { type RerunRequest, rerunRun } from '../../shared/orchestration/run/rerunRun.ts';
import { type RetryRequest, retryRun } from '../../shared/orchestration/run/retryRun.ts';
import { type TriggerRequest, triggerRun } from '../../shared/orchestration/run/triggerRun.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { canonicalTriggerRequest } from '../../shared/http/partitionInput.ts';

const triggerBody = validator<TriggerRequest>({
  type: 'object',
  additionalProperties: false,
  required: ['selection'],
  properties: {
    selection: { type: 'array', maxItems: 10000, items: { type: 'string', maxLength: 256 } },
    includeUpstream: { type: 'boolean' },
    includeDownstream: { type: 'boolean' },
    partitionKey: { type: 'string', maxLength: 1024 },
    partitionKeys: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', maxLength: 1024 } },
    partitions: {
      type: 'array',
      maxItems: 128,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'value'],
        properties: { key: { type: 'string', maxLength: 64 }, value: { type: 'string', maxLength: 256 } },
      },
    },
    runKey: { type: 'string', minLength: 1, maxLength: 256 },
    labels: {
      type: 'object',
      maxProperties: 128,
      propertyNames: { maxLength: 128 },
      additionalProperties: { type: 'string', maxLength: 2048 },
    },
  },
});

const rerunBody = validator<RerunRequest>({
  type: 'object',
  additionalProperties: false,
  required: ['mode'],
  properties: {
    mode: { enum: ['fromFailure', 'subset'] },
    selection: { type: 'array', maxItems: 10000, items: { type: 'string', maxLength: 256 } },
    includeUpstream: { type: 'boolean' },
    includeDownstream: { type: 'boolean' },
    runKey: { type: 'string', minLength: 1, maxLength: 256 },
    labels: { type: 'object', maxProperties: 128, additionalProperties: { type: 'string', maxLength: 2048 } },
  },
});

const cancelBody = validator<{ reason?: string }>({
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 1024 } },
});

const retryBody = validator<RetryRequest>({
  type: 'object',
  additionalProperties: false,
  properties: {
    taskKeys: { type: 'array', items: { type: 'string' } },
    causeFixed: { type: 'boolean' },
    reason: { type: 'string', maxLength: 1024 },
  },
});

/**
 * Run commands of a workspace (orchestration spec §20.5): trigger, rerun, cancel and retry. Each makes
 * its events durable and answers; see docs/visibility.md for what a client sees before they are read back.
 */
export function runCommandRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();

  routes.post('/workspaces/:workspaceId/runs', requireRole('operator', 'producer'), async (c) => {
    const principal = c.get('principal');
    const request = await canonicalTriggerRequest(deps, principal.scope!, await readJsonBody(c, triggerBody));
    const { status, body } = await triggerRun(
      deps,
      principal.scope!,
      { manual: { userId: principal.subject } },
      request,
      c.req.header('idempotency-key'),
    );
    return c.json(body, status);
  });

  routes.post(
    '/workspaces/:workspaceId/runs/:runId/rerun',
    requireRole('operator', 'producer'),
    async (c) => {
      const request = await readJsonBody(c, rerunBody);
      const principal = c.get('principal');
      const { status, body } = await rerunRun(
        deps,
        principal.scope!,
        principal.subject,
        c.req.param('runId'),
        request,
      );
      return c.json(body, status);
    },
  );

  routes.post('/workspaces/:workspaceId/runs/:runId/cancel', requireRole('operator'), async (c) => {
    const { reason } = await readJsonBody(c, cancelBody);
    const runId = c.req.param('runId');
    const principal = c.get('principal');
    const scope = principal.scope!;
    const read = async () =>
      ((await (await readerFor(deps, scope).snapshot()).shardRows('runs', runId)) as RunRow[]).find(
        (r) => r.runId === runId,
      );
    const run = await read();
    if (!run) throw notFound(`run not found: ${runId}`);
    if (!run.cancelRequested) {
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.state))
        throw new ArcoError('conflict', `run ${runId} is already in terminal state ${run.state}`);
      const { visibility_status } = await appendVisible(deps, scope, [
        {
          data: {
            type: 'run_cancel_requested',
            runId,
            requestedBy: principal.subject,
            ...(reason ? { reason } : {}),
          },
        },
      ]);
      // Until the cancel is published, answer with the run as it now stands: cancel requested.
      const after = (visibility_status === 'visible' ? await read() : undefined) ?? {
        ...run,
        cancelRequested: true,
      };
      return c.json({
        runId,
        state: publicRunState(after),
        cancelledAt: deps.clock.now().toISOString(),
        visibility_status,
      });
    }
    return c.json({ runId, state: publicRunState(run), cancelledAt: run.completedAt ?? run.triggeredAt });
  });

  routes.post('/workspaces/:workspaceId/runs/:runId/retry', requireRole('operator'), async (c) => {
    const request = c.req.header('content-type') ? await readJsonBody(c, retryBody) : {};
    const principal = c.get('principal');
    return c.json(await retryRun(deps, principal.scope!, c.req.param('runId'), request, principal.subject));
  });
  return routes;
}
