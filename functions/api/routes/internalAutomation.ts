import { Hono } from 'hono';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { badRequest } from '../../../shared/http/apiError.ts';
import { requireInternal } from '../../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../../shared/http/jsonBody.ts';
import { runAutomationTick } from '../../../shared/orchestration/automationTick.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';

const tickBody = validator<{ now?: string }>({
  type: 'object',
  additionalProperties: false,
  properties: { now: { type: 'string', format: 'date-time' } },
});

/** `POST /internal/automation/tick {"now"}`: one pass of the time-driven controllers (local stack contract). */
export function automationRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  routes.use('/automation/*', requireInternal);
  routes.post('/automation/tick', async (c) => {
    const { now } = await readJsonBody(c, tickBody);
    const scope = c.get('principal').scope;
    if (!scope)
      throw badRequest(
        'mint the internal token for a workspace: arco token --internal --tenant T --workspace W',
      );
    return c.json(await runAutomationTick(deps, scope, now ? new Date(now) : deps.clock.now()));
  });
  return routes;
}
