import { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { requireRole } from '../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import { type RerunRequest, rerunRun } from '../../shared/orchestration/run/rerunRun.ts';
import { cancelRun } from '../../shared/orchestration/run/cancelRun.ts';
import { retryRun } from '../../shared/orchestration/run/retryRun.ts';
import { type RetryRequest } from '../../shared/orchestration/run/decide.ts';
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
    const principal = c.get('principal');
    return c.json(
      await cancelRun(deps, principal.scope!, {
        runId: c.req.param('runId'),
        requestedBy: principal.subject,
        ...(reason ? { reason } : {}),
      }),
    );
  });

  routes.post('/workspaces/:workspaceId/runs/:runId/retry', requireRole('operator'), async (c) => {
    const request = c.req.header('content-type') ? await readJsonBody(c, retryBody) : {};
    const principal = c.get('principal');
    return c.json(await retryRun(deps, principal.scope!, c.req.param('runId'), request, principal.subject));
  });
  return routes;
}
