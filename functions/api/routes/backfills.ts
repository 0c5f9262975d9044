import { Hono } from 'hono';
import { badRequest } from '../../../shared/core/arcoError.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { compareAsc, compareDescThenAsc, keysetPage, pageLimit } from '../../../shared/http/keysetPage.ts';
import {
  backfillChunks,
  backfillView,
  readBackfill,
} from '../../../shared/orchestration/backfill/backfillCommands.ts';
import { BACKFILL_STATES, publicBackfillState } from '../../../shared/orchestration/backfill/backfillPlan.ts';
import { readerFor } from '../../../shared/orchestration/orchestrationServices.ts';
import { plainPartitionFields } from '../../../shared/orchestration/run/runViews.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';

/** Backfills (orchestration spec §16, §20.5): create, list, chunks, pause/resume/cancel, retry-failed. */
export function backfillRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const base = '/workspaces/:workspaceId/backfills';

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
    return c.json((await readBackfill(deps, c.get('principal').scope!, c.req.param('backfillId'))).view);
  });

  routes.get(`${base}/:backfillId/chunks`, async (c) => {
    const state = c.req.query('state')?.toUpperCase();
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
  });

  return routes;
}
