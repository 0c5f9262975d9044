import { type Context, Hono } from 'hono';
import { ArcoError, notFound } from '../../../shared/core/arcoError.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { compareAsc, compareDescThenAsc, keysetPage, pageLimit } from '../../../shared/http/keysetPage.ts';
import { readerFor } from '../../../shared/orchestration/orchestrationServices.ts';
import { scheduleView, readSchedule } from '../../../shared/orchestration/schedule/scheduleCommands.ts';
import type { Row } from '../../../shared/orchestration/state/projectionTables.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';

const tickView = (row: Row) => ({
  tickId: row.tickId,
  scheduleId: row.scheduleId,
  scheduledFor: row.scheduledFor,
  assetSelection: row.assetSelection,
  status: row.status,
  ...(row.status === 'SKIPPED' && row.reason ? { skipReason: row.reason } : {}),
  ...(row.status === 'FAILED' && row.reason ? { errorMessage: row.reason } : {}),
  ...(row.runKey ? { runKey: row.runKey } : {}),
  ...(row.runId ? { runId: row.runId } : {}),
  ...(row.details ? { details: row.details } : {}),
});

/** Schedules (orchestration spec §14, §20.5): definitions, enable/disable, and their ticks. */
export function scheduleRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const base = '/workspaces/:workspaceId/schedules';

  const read = (c: Context<AppEnv>, id: string) => readSchedule(deps, c.get('principal').scope!, id);

  routes.get(base, async (c) => {
    const snapshot = await readerFor(deps, c.get('principal').scope!).snapshot();
    const states = new Map((await snapshot.rows('schedule_state')).map((r) => [String(r.scheduleId), r]));
    const rows = (await snapshot.rows('schedule_definitions')).sort((a, b) =>
      compareAsc([String(a.scheduleId)], [String(b.scheduleId)]),
    );
    const { page, nextCursor } = keysetPage(
      rows,
      (r) => [String(r.scheduleId)],
      compareAsc,
      pageLimit(c.req.query('limit'), 50),
      c.req.query('cursor'),
    );
    return c.json({
      schedules: page.map((r) => scheduleView(r, states.get(String(r.scheduleId)))),
      ...(nextCursor ? { nextCursor } : {}),
    });
  });

  routes.get(`${base}/:scheduleId`, async (c) => {
    const { definition, state } = await read(c, c.req.param('scheduleId'));
    if (!definition) throw notFound(`schedule not found: ${c.req.param('scheduleId')}`);
    return c.json(scheduleView(definition, state));
  });

  routes.get(`${base}/:scheduleId/ticks`, async (c) => {
    const id = c.req.param('scheduleId');
    const status = c.req.query('status')?.toUpperCase();
    if (status && !['TRIGGERED', 'SKIPPED', 'FAILED'].includes(status))
      throw new ArcoError('invalid_argument', 'status must be TRIGGERED, SKIPPED or FAILED');
    const { definition, snapshot } = await read(c, id);
    const ticks = (await snapshot.rowsOf('schedule_ticks', id)).filter((r) => r.scheduleId === id);
    // A schedule no longer deployed keeps its ticks readable; a name never seen is a typo.
    if (!definition && !ticks.length) throw notFound(`schedule not found: ${id}`);
    const rows = ticks
      .filter((r) => !status || r.status === status)
      .sort((a, b) =>
        compareDescThenAsc(
          [String(a.scheduledFor), String(a.tickId)],
          [String(b.scheduledFor), String(b.tickId)],
        ),
      );
    const { page, nextCursor } = keysetPage(
      rows,
      (r) => [String(r.scheduledFor), String(r.tickId)],
      compareDescThenAsc,
      pageLimit(c.req.query('limit'), 50),
      c.req.query('cursor'),
    );
    return c.json({ ticks: page.map(tickView), ...(nextCursor ? { nextCursor } : {}) });
  });

  routes.get(`${base}/:scheduleId/ticks/:tickId`, async (c) => {
    const id = c.req.param('scheduleId');
    const { snapshot } = await read(c, id);
    const tick = (await snapshot.rowsOf('schedule_ticks', id)).find(
      (r) => r.tickId === c.req.param('tickId') && r.scheduleId === id,
    );
    if (!tick) throw notFound(`tick not found: ${c.req.param('tickId')}`);
    return c.json(tickView(tick));
  });

  return routes;
}
