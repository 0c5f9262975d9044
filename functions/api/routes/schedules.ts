import { type Context, Hono } from 'hono';
import { ApiError, notFound } from '../../../shared/http/apiError.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { requireRole } from '../../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../../shared/http/jsonBody.ts';
import { compareAsc, compareDescThenAsc, keysetPage, pageLimit } from '../../../shared/http/keysetPage.ts';
import { readerFor } from '../../../shared/orchestration/orchestrationServices.ts';
import {
  type ScheduleInput,
  scheduleView,
  upsertSchedule,
} from '../../../shared/orchestration/scheduleCommands.ts';
import { TriggerError } from '../../../shared/orchestration/triggerRun.ts';
import type { Row } from '../../../shared/orchestration/projectionTables.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';

const scheduleBody = validator<ScheduleInput>({
  type: 'object',
  additionalProperties: false,
  required: ['cronExpression', 'timezone', 'assetSelection'],
  properties: {
    cronExpression: { type: 'string', minLength: 1, maxLength: 128 },
    timezone: { type: 'string', minLength: 1, maxLength: 64 },
    catchupWindowMinutes: { type: 'integer', minimum: 0, maximum: 525600, default: 0 },
    maxCatchupTicks: { type: 'integer', minimum: 1, maximum: 1000, default: 1 },
    assetSelection: {
      type: 'array',
      minItems: 1,
      maxItems: 10000,
      items: { type: 'string', minLength: 1, maxLength: 256 },
    },
    enabled: { type: 'boolean', default: true },
    partitionFromTick: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
    pipeline: { type: 'string', minLength: 1 },
  },
});

const emptyBody = validator<Record<string, never>>({
  type: 'object',
  additionalProperties: false,
  properties: {},
});

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

const asApiError = (error: unknown) =>
  error instanceof TriggerError ? new ApiError(error.status, error.message, error.details) : error;

/** Schedules (orchestration spec §14, §20.5): definitions, enable/disable, and their ticks. */
export function scheduleRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const base = '/workspaces/:workspaceId/schedules';

  const read = async (c: Context<AppEnv>, id: string) => {
    const snapshot = await readerFor(deps, c.get('principal').scope!).snapshot();
    const definition = (await snapshot.shardRows('schedule_definitions', id)).find(
      (r) => r.scheduleId === id,
    );
    const state = (await snapshot.shardRows('schedule_state', id)).find((r) => r.scheduleId === id);
    return { snapshot, definition, state };
  };

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

  routes.put(`${base}/:scheduleId`, requireRole('operator', 'producer'), async (c) => {
    const input = await readJsonBody(c, scheduleBody);
    try {
      const { status, body } = await upsertSchedule(
        deps,
        c.get('principal').scope!,
        c.req.param('scheduleId'),
        () => input,
      );
      return c.json(body, status);
    } catch (error) {
      throw asApiError(error);
    }
  });

  for (const [action, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const)
    routes.post(`${base}/:scheduleId/${action}`, requireRole('operator', 'producer'), async (c) => {
      if (c.req.header('content-length') !== '0' && c.req.header('content-type'))
        await readJsonBody(c, emptyBody);
      const id = c.req.param('scheduleId');
      if (!(await read(c, id)).definition) throw notFound(`schedule not found: ${id}`);
      try {
        const { body } = await upsertSchedule(deps, c.get('principal').scope!, id, (existing) => ({
          ...existing!,
          enabled,
        }));
        return c.json(body, 200);
      } catch (error) {
        throw asApiError(error);
      }
    });

  routes.get(`${base}/:scheduleId/ticks`, async (c) => {
    const id = c.req.param('scheduleId');
    const status = c.req.query('status')?.toUpperCase();
    if (status && !['TRIGGERED', 'SKIPPED', 'FAILED'].includes(status))
      throw new ApiError(400, 'status must be TRIGGERED, SKIPPED or FAILED');
    const { snapshot } = await read(c, id);
    const rows = (await snapshot.shardRows('schedule_ticks', id))
      .filter((r) => r.scheduleId === id && (!status || r.status === status))
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
    const tick = (await snapshot.shardRows('schedule_ticks', id)).find(
      (r) => r.tickId === c.req.param('tickId') && r.scheduleId === id,
    );
    if (!tick) throw notFound(`tick not found: ${c.req.param('tickId')}`);
    return c.json(tickView(tick));
  });
  return routes;
}
