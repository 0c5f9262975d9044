import { type Context, Hono } from 'hono';
import { notFound } from '../../shared/core/arcoError.ts';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { requireRole } from '../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import {
  type ScheduleInput,
  upsertSchedule,
  readSchedule,
} from '../../shared/orchestration/schedule/scheduleCommands.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';

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

/** The commands of schedules (they append ledger events); reads are served by the api function. */
export function scheduleCommandRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const base = '/workspaces/:workspaceId/schedules';

  const read = (c: Context<AppEnv>, id: string) => readSchedule(deps, c.get('principal').scope!, id);

  routes.put(`${base}/:scheduleId`, requireRole('operator', 'producer'), async (c) => {
    const input = await readJsonBody(c, scheduleBody);
    const { status, body } = await upsertSchedule(
      deps,
      c.get('principal').scope!,
      c.req.param('scheduleId'),
      () => input,
    );
    return c.json(body, status);
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
      const { body } = await upsertSchedule(deps, c.get('principal').scope!, id, (existing) => ({
        ...existing!,
        enabled,
      }));
      return c.json(body, 200);
    });

  return routes;
}
