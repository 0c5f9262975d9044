import { Hono } from 'hono';
import { createApiApp } from '../functions/api/app.ts';
import { createTickApp } from '../functions/automation/tickRoutes.ts';
import { createCompactionApp } from '../functions/compaction/app.ts';
import { createDeltaCommitApp } from '../functions/delta-commit/app.ts';
import { createRebuildApp } from '../functions/rebuild/app.ts';
import { createRunTriggerApp } from '../functions/run-trigger/app.ts';
import { createTaskCompletionApp } from '../functions/task-completion/app.ts';
import type { AppEnv } from '../shared/http/appEnv.ts';
import { gatewayRoute } from '../shared/http/gatewayRoutes.ts';
import type { Dependencies } from '../shared/runtime/dependencies.ts';

/**
 * The HTTP app of every function of `functions/`, by function name (for `automation`, a CloudEvent
 * function, its local-only tick route). The route-parity test reads every route of these apps.
 */
export const FUNCTION_APPS: Record<string, (deps: Dependencies) => Hono<AppEnv>> = {
  api: createApiApp,
  automation: createTickApp,
  compaction: createCompactionApp,
  'delta-commit': createDeltaCommitApp,
  rebuild: createRebuildApp,
  'run-trigger': createRunTriggerApp,
  'task-completion': createTaskCompletionApp,
};

/** Functions deployed as CloudEvent functions: their HTTP app above exists on the local stack only. */
export const CLOUD_EVENT_FUNCTIONS: ReadonlySet<string> = new Set(['automation']);

/**
 * Every function behind one in-process app that routes each request by the gateway document, as API
 * Gateway does in GCP and the local function host does over HTTP: for tests and benchmarks that call
 * the whole API in process. A path the document does not know reaches `api` (404 in its error body).
 */
export function createGatewayApp(deps: Dependencies): Hono<AppEnv> {
  const apps = new Map(Object.entries(FUNCTION_APPS).map(([name, create]) => [name, create(deps)]));
  const gateway = new Hono<AppEnv>();
  gateway.all('*', (c) =>
    apps.get(gatewayRoute(c.req.method, c.req.path)?.backend ?? 'api')!.fetch(c.req.raw),
  );
  return gateway;
}
