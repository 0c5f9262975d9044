import { Hono } from 'hono';
import { badRequest } from '../../shared/core/arcoError.ts';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { requireRole } from '../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import {
  changeBackfillState,
  createBackfill,
  retryFailedBackfill,
} from '../../shared/orchestration/backfill/backfillCommands.ts';
import { type BackfillRequest } from '../../shared/orchestration/backfill/decide.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';

const createBody = validator<BackfillRequest>({
  type: 'object',
  additionalProperties: false,
  required: ['assetSelection', 'partitionSelector'],
  properties: {
    assetSelection: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 256 } },
    partitionSelector: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
    clientRequestId: { type: 'string', minLength: 1, maxLength: 256 },
    chunkSize: { type: 'integer', minimum: 0, maximum: 1000 },
    maxConcurrentRuns: { type: 'integer', minimum: 0, maximum: 100 },
  },
});

const transitionBody = validator<{ expectedStateVersion?: number }>({
  type: 'object',
  additionalProperties: false,
  properties: { expectedStateVersion: { type: 'integer', minimum: 1 } },
});

const retryBody = validator<{ retryRequestId?: string }>({
  type: 'object',
  additionalProperties: false,
  properties: { retryRequestId: { type: 'string', minLength: 1, maxLength: 256 } },
});

const TARGETS = { pause: 'PAUSED', resume: 'RUNNING', cancel: 'CANCELING' } as const;

/** The commands of backfills (they append ledger events); reads are served by the api function. */
export function backfillCommandRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const base = '/workspaces/:workspaceId/backfills';
  const writers = requireRole('operator', 'producer');

  routes.post(base, writers, async (c) => {
    const input = await readJsonBody(c, createBody);
    const { status, body } = await createBackfill(
      deps,
      c.get('principal').scope!,
      input,
      c.req.header('idempotency-key'),
    );
    return c.json(body, status);
  });

  for (const [action, toState] of Object.entries(TARGETS))
    routes.post(`${base}/:backfillId/${action}`, writers, async (c) => {
      const body = c.req.header('content-type') ? await readJsonBody(c, transitionBody) : {};
      const principal = c.get('principal');
      return c.json(
        await changeBackfillState(
          deps,
          principal.scope!,
          c.req.param('backfillId'),
          toState,
          principal.subject,
          body.expectedStateVersion,
        ),
      );
    });

  routes.post(`${base}/:backfillId/retry-failed`, writers, async (c) => {
    const body = c.req.header('content-type') ? await readJsonBody(c, retryBody) : {};
    const retryRequestId = body.retryRequestId ?? c.req.header('idempotency-key');
    if (!retryRequestId) throw badRequest('retryRequestId or Idempotency-Key is required');
    const { status, body: accepted } = await retryFailedBackfill(
      deps,
      c.get('principal').scope!,
      c.req.param('backfillId'),
      retryRequestId,
    );
    return c.json(accepted, status);
  });

  return routes;
}
