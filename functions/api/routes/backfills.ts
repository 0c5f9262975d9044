import { Hono } from 'hono';
import { ApiError, badRequest } from '../../../shared/http/apiError.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { requireRole } from '../../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../../shared/http/jsonBody.ts';
import { compareAsc, compareDescThenAsc, keysetPage, pageLimit } from '../../../shared/http/keysetPage.ts';
import {
  BackfillCommandError,
  type BackfillRequest,
  backfillChunks,
  backfillView,
  changeBackfillState,
  createBackfill,
  readBackfill,
  retryFailedBackfill,
} from '../../../shared/orchestration/backfillCommands.ts';
import { BACKFILL_STATES, publicBackfillState } from '../../../shared/orchestration/backfillPlan.ts';
import { readerFor } from '../../../shared/orchestration/orchestrationServices.ts';
import { plainPartitionFields } from '../../../shared/orchestration/runViews.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';

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

const asApiError = (error: unknown) =>
  error instanceof BackfillCommandError ? new ApiError(error.status, error.message, error.details) : error;

/** Backfills (orchestration spec §16, §20.5): create, list, chunks, pause/resume/cancel, retry-failed. */
export function backfillRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const base = '/workspaces/:workspaceId/backfills';
  const writers = requireRole('operator', 'producer');

  routes.post(base, writers, async (c) => {
    const input = await readJsonBody(c, createBody);
    try {
      const { status, body } = await createBackfill(
        deps,
        c.get('principal').scope!,
        input,
        c.req.header('idempotency-key'),
      );
      return c.json(body, status);
    } catch (error) {
      throw asApiError(error);
    }
  });

  routes.get(base, async (c) => {
    const asked = c.req.query('state')?.toUpperCase();
    const state = asked && publicBackfillState(asked);
    if (state && !(BACKFILL_STATES as readonly string[]).includes(state))
      throw badRequest(`state must be one of ${BACKFILL_STATES.join(', ')}`);
    const snapshot = await readerFor(deps, c.get('principal').scope!).snapshot();
    const rows = (await snapshot.rows('backfills'))
      .filter((r) => !state || publicBackfillState(String(r.state)) === state)
      .sort((a, b) =>
        compareDescThenAsc(
          [String(a.createdAt), String(a.backfillId)],
          [String(b.createdAt), String(b.backfillId)],
        ),
      );
    const { page, nextCursor } = keysetPage(
      rows,
      (r) => [String(r.createdAt), String(r.backfillId)],
      compareDescThenAsc,
      pageLimit(c.req.query('limit'), 50),
      c.req.query('cursor'),
    );
    const views = await Promise.all(
      page.map(async (r) => backfillView(r, await backfillChunks(snapshot, String(r.backfillId)))),
    );
    return c.json({ backfills: views, ...(nextCursor ? { nextCursor } : {}) });
  });

  routes.get(`${base}/:backfillId`, async (c) => {
    try {
      return c.json((await readBackfill(deps, c.get('principal').scope!, c.req.param('backfillId'))).view);
    } catch (error) {
      throw asApiError(error);
    }
  });

  routes.get(`${base}/:backfillId/chunks`, async (c) => {
    const state = c.req.query('state')?.toUpperCase();
    try {
      const { chunks } = await readBackfill(deps, c.get('principal').scope!, c.req.param('backfillId'));
      const filtered = chunks.filter((ch) => !state || ch.state === state);
      const { page, nextCursor } = keysetPage(
        filtered,
        (ch) => [String(ch.chunkIndex).padStart(8, '0'), ch.chunkId],
        compareAsc,
        pageLimit(c.req.query('limit'), 50),
        c.req.query('cursor'),
      );
      return c.json({ chunks: plainPartitionFields(page), ...(nextCursor ? { nextCursor } : {}) });
    } catch (error) {
      throw asApiError(error);
    }
  });

  for (const [action, toState] of Object.entries(TARGETS))
    routes.post(`${base}/:backfillId/${action}`, writers, async (c) => {
      const body = c.req.header('content-type') ? await readJsonBody(c, transitionBody) : {};
      const principal = c.get('principal');
      try {
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
      } catch (error) {
        throw asApiError(error);
      }
    });

  routes.post(`${base}/:backfillId/retry-failed`, writers, async (c) => {
    const body = c.req.header('content-type') ? await readJsonBody(c, retryBody) : {};
    const retryRequestId = body.retryRequestId ?? c.req.header('idempotency-key');
    if (!retryRequestId) throw badRequest('retryRequestId or Idempotency-Key is required');
    try {
      const { status, body: accepted } = await retryFailedBackfill(
        deps,
        c.get('principal').scope!,
        c.req.param('backfillId'),
        retryRequestId,
      );
      return c.json(accepted, status);
    } catch (error) {
      throw asApiError(error);
    }
  });
  return routes;
}
