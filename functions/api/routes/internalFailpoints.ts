import { Hono } from 'hono';
import { badRequest } from '../../../shared/core/arcoError.ts';
import { FAILPOINT_NAMES, type Failpoints, unknownFailpoints } from '../../../shared/core/failpoints.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { requireInternal } from '../../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../../shared/http/jsonBody.ts';

const armRequest = validator<Record<string, number>>({
  type: 'object',
  minProperties: 1,
  propertyNames: { pattern: '^[a-z][a-z0-9_.]*$' },
  additionalProperties: { type: 'integer', minimum: 0, maximum: 1000 },
});

/** Local stack only (never mounted in a deployment): arm crash points at run time. */
export function internalFailpointRoutes(failpoints: Failpoints) {
  const routes = new Hono<AppEnv>();
  routes.use('/failpoints', requireInternal);
  routes.get('/failpoints', (c) => c.json({ armed: failpoints.snapshot() }));
  routes.post('/failpoints', async (c) => {
    const request = await readJsonBody(c, armRequest);
    const unknown = unknownFailpoints(Object.keys(request));
    // Nothing is armed when one name is wrong: the request is refused as a whole.
    if (unknown.length)
      throw badRequest(`no failpoint is named ${unknown.join(', ')}`, {
        field: unknown[0],
        known: FAILPOINT_NAMES,
      });
    for (const [name, count] of Object.entries(request)) failpoints.arm(name, count);
    return c.json({ armed: failpoints.snapshot() });
  });
  return routes;
}
