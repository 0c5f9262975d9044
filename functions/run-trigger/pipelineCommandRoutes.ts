import { type Context, Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { requireRole } from '../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import {
  cancelPipelineBackfill,
  type PipelineRunRequest,
  startPipelineRun,
} from '../../shared/orchestration/pipeline/pipelineBackfills.ts';

import type { Dependencies } from '../../shared/runtime/dependencies.ts';

const runBody = validator<PipelineRunRequest>({
  type: 'object',
  additionalProperties: false,
  required: ['start', 'end'],
  properties: {
    start: { type: 'string' },
    end: { type: 'string' },
    asOfMode: { enum: ['now', 'pretip', 'lock', 'custom'] },
    asOfTs: { type: 'string', format: 'date-time' },
    maxParallel: { type: 'integer', minimum: 1, maximum: 64 },
    resume: { type: 'boolean' },
    force: { type: 'boolean' },
    retryHeld: { type: 'boolean' },
    dryRun: { type: 'boolean' },
    steps: { type: 'array', items: { type: 'string' } },
    params: { type: 'object', additionalProperties: { type: 'string' } },
    clientRequestId: { type: 'string', minLength: 1, maxLength: 256 },
  },
});

const cancelBody = validator<{ reason?: string }>({
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 1024 } },
});

/** The commands of pipelines (they append ledger events); reads are served by the api function. */
export function pipelineCommandRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const ws = '/workspaces/:workspaceId';
  const scopeOf = (c: Context<AppEnv>) => c.get('principal').scope!;

  routes.post(`${ws}/pipelines/:name/runs`, requireRole('operator'), async (c) => {
    const request = await readJsonBody(c, runBody);
    const name = c.req.param('name');
    const { status, body } = await startPipelineRun(
      deps,
      scopeOf(c),
      name === '_default' ? undefined : name,
      request,
      c.get('principal').subject,
      c.req.header('idempotency-key'),
    );
    return c.json(body, status);
  });

  routes.post(`${ws}/pipeline-backfills/:id/cancel`, requireRole('operator'), async (c) => {
    const body = c.req.header('content-type') ? await readJsonBody(c, cancelBody) : {};
    return c.json(
      await cancelPipelineBackfill(
        deps,
        scopeOf(c),
        c.req.param('id'),
        c.get('principal').subject,
        body.reason,
      ),
    );
  });
  return routes;
}
