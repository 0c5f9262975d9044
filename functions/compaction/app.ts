import { Hono } from 'hono';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { requireInternal } from '../../shared/http/authMiddleware.ts';
import { createFunctionApp } from '../../shared/http/functionApp.ts';
import { internalScope } from '../../shared/http/internalScope.ts';
import { parseCompactionHint } from '../../shared/orchestration/state/compactionHint.ts';
import { compactorFor } from '../../shared/orchestration/orchestrationServices.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';

/**
 * The compaction function: each workspace's scheduler (docs/architecture.md). `POST /compactor/hint`
 * takes the append hints Cloud Tasks delivers; `POST /compactor/compact` (internal callers) folds
 * everything pending and publishes at once.
 */
export function createCompactionApp(deps: Dependencies): Hono<AppEnv> {
  const app = createFunctionApp(deps);
  app.use('/compactor/*', requireInternal);
  // Fold the batches and run their controllers, then answer; publishing follows on the workspace's cadence.
  // A failure answers 500 so that Cloud Tasks retries the hint.
  app.post('/compactor/hint', async (c) => {
    const hint = parseCompactionHint(await c.req.json().catch(() => null));
    if (!hint) return c.json({ ignored: 'the hint names no workspace' });
    const folded = await compactorFor(deps, { tenant: hint.tenant, workspace: hint.workspace }).hint(
      hint.batches,
    );
    // Not folded here: another instance holds the workspace's lease, and its scans fold the batch.
    return c.json(folded ? { folded } : { folded, deferred_to: 'lease_holder' });
  });
  app.post('/compactor/compact', async (c) => c.json(await compactorFor(deps, internalScope(c)).drain()));
  return app;
}
