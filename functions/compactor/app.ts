import { Hono } from 'hono';
import { ApiError } from '../../shared/http/apiError.ts';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { authenticate, requireInternal } from '../../shared/http/authMiddleware.ts';
import { handleError, handleNotFound } from '../../shared/http/errorHandler.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import { requestContext } from '../../shared/http/requestContext.ts';
import { SCOPE_ID_PATTERN, type Scope } from '../../shared/auth/principal.ts';
import { parseCompactionHint } from '../../shared/orchestration/compactionHint.ts';
import { CompactionInputError, LeaseBusyError } from '../../shared/orchestration/compactor.ts';
import { compactorFor } from '../../shared/orchestration/orchestrationServices.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';

const rebuildBody = validator<{ rebuild_manifest_path: string; request_id?: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['rebuild_manifest_path'],
  properties: {
    rebuild_manifest_path: { type: 'string', minLength: 1, maxLength: 1024 },
    request_id: { type: 'string', maxLength: 128 },
    // The reference required these; our compactor takes its own lease, so they are accepted and unused.
    fencing_token: { type: 'integer' },
    lock_path: { type: 'string' },
  },
});

function compactionError(error: unknown): never {
  if (error instanceof LeaseBusyError)
    throw new ApiError(409, error.message, { reason: 'lease_busy' }, undefined, { 'Retry-After': '1' });
  if (error instanceof CompactionInputError) throw new ApiError(error.status, error.message, error.details);
  throw error;
}

/** Scope of an internal call: the token's, else (a service identity) the X-Tenant-Id / X-Workspace-Id it names. */
function internalScope(c: {
  get: (k: 'principal') => AppEnv['Variables']['principal'];
  req: { header: (n: string) => string | undefined };
}): Scope {
  const principal = c.get('principal');
  if (principal.scope) return principal.scope;
  const tenant = c.req.header('x-tenant-id') ?? '';
  const workspace = c.req.header('x-workspace-id') ?? '';
  if (!SCOPE_ID_PATTERN.test(tenant) || !SCOPE_ID_PATTERN.test(workspace))
    throw new ApiError(
      400,
      'an internal token without a workspace must name one with X-Tenant-Id and X-Workspace-Id',
    );
  return { tenant, workspace };
}

/** The compactor function: `/hint` (append hints from Cloud Tasks), `/compact` and `/rebuild` (internal callers). */
export function createCompactorApp(deps: Dependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestContext(deps.log, deps.ids));
  app.onError(handleError);
  app.notFound(handleNotFound);
  app.get('/health', (c) => c.json({ status: 'ok' }));

  // Append hints (Cloud Tasks, internal identity): fold the batch and run its controllers, then answer.
  // Publishing follows on the workspace's cadence; a failure answers 500 so Cloud Tasks retries the hint.
  app.use('/hint', authenticate(deps.tokens), requireInternal);
  app.post('/hint', async (c) => {
    const hint = parseCompactionHint(await c.req.json().catch(() => null));
    if (!hint) return c.json({ ignored: 'the hint names no workspace' });
    const { tenant, workspace, batchId, paths, eventsJson } = hint;
    const folded = await compactorFor(deps, { tenant, workspace }).hint(
      batchId && paths ? { batchId, paths, ...(eventsJson ? { eventsJson } : {}) } : undefined,
    );
    // Not folded here: another instance holds the workspace's lease, and its scans fold the batch.
    return c.json(folded ? { folded } : { folded, deferred_to: 'lease_holder' });
  });

  app.use('/compact', authenticate(deps.tokens), requireInternal);
  app.use('/rebuild', authenticate(deps.tokens), requireInternal);
  app.post('/compact', async (c) =>
    c.json(await compactorFor(deps, internalScope(c)).drain().catch(compactionError)),
  );
  app.post('/rebuild', async (c) => {
    const { rebuild_manifest_path } = await readJsonBody(c, rebuildBody);
    return c.json(
      await compactorFor(deps, internalScope(c)).rebuild(rebuild_manifest_path).catch(compactionError),
    );
  });
  return app;
}
