import { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { requireInternal } from '../../shared/http/authMiddleware.ts';
import { createFunctionApp } from '../../shared/http/functionApp.ts';
import { internalScope } from '../../shared/http/internalScope.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import { rebuildWorkspace } from '../../shared/orchestration/orchestrationServices.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';

const rebuildBody = validator<{ rebuild_manifest_path: string; request_id?: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['rebuild_manifest_path'],
  properties: {
    rebuild_manifest_path: { type: 'string', minLength: 1, maxLength: 1024 },
    request_id: { type: 'string', maxLength: 128 },
    // The reference required these; the rebuild takes the workspace's own lease, so they are accepted and unused.
    fencing_token: { type: 'integer' },
    lock_path: { type: 'string' },
  },
});

/**
 * The rebuild function (runbook 004 §3): `POST /compactor/rebuild {rebuild_manifest_path}` replays the
 * ledger objects the rebuild manifest lists, never a bucket listing, into fresh projections under the
 * workspace's compaction lease. 409 `lease_busy` (Retry-After: 1) while a compaction holds the lease.
 */
export function createRebuildApp(deps: Dependencies): Hono<AppEnv> {
  const app = createFunctionApp(deps);
  app.use('/compactor/*', requireInternal);
  app.post('/compactor/rebuild', async (c) => {
    const { rebuild_manifest_path } = await readJsonBody(c, rebuildBody);
    return c.json(await rebuildWorkspace(deps, internalScope(c), rebuild_manifest_path));
  });
  return app;
}
