import type { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { badRequest } from '../../shared/core/arcoError.ts';
import { requireInternal } from '../../shared/http/authMiddleware.ts';
import { createFunctionApp } from '../../shared/http/functionApp.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import { runAutomationTick } from '../../shared/orchestration/automationTick.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';

const tickBody = validator<{ now?: string }>({
  type: 'object',
  additionalProperties: false,
  properties: { now: { type: 'string', format: 'date-time' } },
});

/**
 * The local stack's HTTP companion of the `automation` CloudEvent function: a second target (served
 * by the local function host for the automation function's local-only paths), never deployed.
 */
export const LOCAL_TICK_TARGET = 'automation-http';

/** `POST /internal/automation/tick {"now"}`: one pass of the time-driven controllers (local stack contract). */
export function createTickApp(deps: Dependencies): Hono<AppEnv> {
  const routes = createFunctionApp(deps);
  routes.use('/internal/automation/*', requireInternal);
  routes.post('/internal/automation/tick', async (c) => {
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
