import { type Context, Hono } from 'hono';
import { READ_YOUR_WRITES_WAIT_MS } from '../../../shared/orchestration/state/visibility.ts';
import { html } from 'hono/html';
import { mintLocalToken, resolveLocalSecret } from '../../../shared/auth/localTokens.ts';
import { InvalidTokenError } from '../../../shared/auth/tokenVerifier.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';
import { type Html, layout } from './layout.ts';
import { backfillDetailPage, backfillsPage, schedulesPage, sensorsPage } from './pages/automation.ts';
import { deltaTablePage, deltaTablesPage } from './pages/delta.ts';
import { partitionsPage } from './pages/partitions.ts';
import { pipelinePage } from './pages/pipelines.ts';
import { datasetPage, datasetsPage, diffPage } from './pages/registry.ts';
import { manifestPage, runDetailPage, runsPage } from './pages/runs.ts';
import { forgetToken, rememberToken, type UiApi, uiApi, UiApiError, uiSession } from './uiSession.ts';

/** A path parameter of a page whose handler is shared by several routes. */
const param = (c: Context<AppEnv>, name: string) => c.req.param(name) ?? '';

const safeNext = (next: string | undefined) =>
  next && next.startsWith('/ui/') && !next.startsWith('//') ? next : '/ui/runs';

/**
 * The operator UI at `/ui`: server-rendered pages over the public API (readable without JavaScript),
 * the same auth (a bearer token kept in a cookie scoped to `/ui`), and on the local stack a dev login.
 */
export function uiRoutes(deps: Dependencies, app: Pick<Hono<AppEnv>, 'request'>) {
  const ui = new Hono<AppEnv>();
  const localStack = deps.config.localStack;

  const loginPage = (c: Context<AppEnv>, message?: string) =>
    c.html(
      layout(
        'Sign in',
        '',
        html`${message ? html`<p class="error" role="alert">${message}</p>` : ''}
          <form method="post" action="/ui/login" class="card">
            <input type="hidden" name="next" value="${safeNext(c.req.query('next'))}" />
            <p><label for="token">Bearer token</label></p>
            <p><textarea id="token" name="token" rows="4" cols="80" required></textarea></p>
            <p class="muted">
              Locally:
              <code>npx arco token --tenant demo --workspace demo --roles operator,producer,consumer</code>.
              In GCP: <code>gcloud auth print-identity-token</code>.
            </p>
            <button class="primary" type="submit">Sign in</button>
          </form>
          ${
            localStack
              ? html`<form method="post" action="/ui/dev-login" class="card">
                  <input type="hidden" name="next" value="${safeNext(c.req.query('next'))}" />
                  <p>
                    <label for="workspace">Workspace</label
                    ><input id="workspace" name="workspace" value="demo" />
                    <span class="muted">(tenant demo, all roles; local stack only)</span>
                  </p>
                  <button type="submit">Dev login</button>
                </form>`
              : ''
          }`,
      ),
      message ? 401 : 200,
    );

  ui.get('/login', (c) =>
    loginPage(
      c,
      c.req.query('error') === 'expired'
        ? 'Your token expired or is invalid; sign in again.'
        : c.req.query('error') === 'scope'
          ? 'That token is not scoped to a workspace.'
          : undefined,
    ),
  );
  ui.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const token = String(form.token ?? '').trim();
    try {
      const principal = await deps.tokens.verify(token);
      if (!principal.scope) return loginPage(c, 'That token is not scoped to a workspace.');
    } catch (error) {
      if (error instanceof InvalidTokenError) return loginPage(c, `Token refused: ${error.message}`);
      throw error;
    }
    rememberToken(c, token);
    return c.redirect(safeNext(String(form.next ?? '')), 303);
  });
  if (localStack)
    ui.post('/dev-login', async (c) => {
      const form = await c.req.parseBody();
      const asked = typeof form.workspace === 'string' ? form.workspace : '';
      const workspace = /^[a-z0-9][a-z0-9_-]{0,62}$/.test(asked) ? asked : 'demo';
      rememberToken(
        c,
        await mintLocalToken(resolveLocalSecret(deps.config.dataDir), {
          tenant: 'demo',
          workspace,
          roles: ['operator', 'producer', 'consumer'],
          subject: 'ui-dev-login',
        }),
      );
      return c.redirect(safeNext(String(form.next ?? '')), 303);
    });
  ui.post('/logout', (c) => {
    forgetToken(c);
    return c.redirect('/ui/login', 303);
  });

  ui.use('*', uiSession(deps));
  const page =
    (
      title: (c: Context<AppEnv>) => string,
      current: string,
      render: (api: UiApi, c: Context<AppEnv>) => Promise<Html>,
    ) =>
    async (c: Context<AppEnv>) => {
      const api = uiApi(app, c, deps.config.publicBaseUrl);
      try {
        return c.html(layout(title(c), current, await render(api, c), api.workspace));
      } catch (error) {
        if (!(error instanceof UiApiError)) throw error;
        return c.html(
          layout(
            `Error ${error.status}`,
            current,
            html`<p class="error" role="alert">${error.message}</p>
              <p><a href="${current}">Back</a></p>`,
            api.workspace,
          ),
          error.status as 404,
        );
      }
    };

  ui.get('/', (c) => c.redirect('/ui/runs'));
  ui.get(
    '/runs',
    page(
      () => 'Runs',
      '/ui/runs',
      (api, c) => runsPage(api, { state: c.req.query('state'), cursor: c.req.query('cursor') }),
    ),
  );
  ui.get(
    '/runs/:runId',
    page(
      (c) => `Run ${param(c, 'runId')}`,
      '/ui/runs',
      (api, c) => runDetailPage(api, param(c, 'runId')),
    ),
  );
  ui.get(
    '/pipelines',
    page(
      () => 'Pipeline checklist',
      '/ui/pipelines',
      (api, c) => pipelinePage(api, c.req.query('pipeline') || undefined, c.req.query('date') || 'today'),
    ),
  );
  ui.get(
    '/manifests',
    page(
      () => 'Step manifest',
      '/ui/runs',
      (api, c) =>
        manifestPage(api, {
          asset: c.req.query('asset'),
          run: c.req.query('run'),
          partition: c.req.query('partition'),
          attempt: c.req.query('attempt'),
        }),
    ),
  );
  ui.get(
    '/partitions',
    page(
      () => 'Partitions',
      '/ui/partitions',
      (api, c) =>
        partitionsPage(api, c.req.query('asset') || undefined, c.req.query('partition') || undefined),
    ),
  );
  ui.get(
    '/backfills',
    page(
      () => 'Backfills',
      '/ui/backfills',
      (api) => backfillsPage(api),
    ),
  );
  ui.get(
    '/backfills/:id',
    page(
      (c) => `Backfill ${param(c, 'id')}`,
      '/ui/backfills',
      (api, c) => backfillDetailPage(api, param(c, 'id')),
    ),
  );
  ui.post('/backfills/:id/:action{pause|resume|cancel|retry-failed}', async (c) => {
    const api = uiApi(app, c, deps.config.publicBaseUrl);
    const { id, action } = c.req.param();
    try {
      const changed = await api.post<{ state?: string }>(
        `${api.ws}/backfills/${encodeURIComponent(id)}/${action}`,
        action === 'retry-failed' ? { retryRequestId: `ui-${Date.now()}` } : {},
      );
      // The list reads published state: wait (briefly) until it shows the change the user just made.
      const path = `${api.ws}/backfills/${encodeURIComponent(id)}`;
      for (let waited = 0; changed.state && waited < READ_YOUR_WRITES_WAIT_MS; waited += 100) {
        if ((await api.get<{ state?: string }>(path)).state === changed.state) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch (error) {
      if (!(error instanceof UiApiError)) throw error;
      return c.html(
        layout(
          'Backfill action refused',
          '/ui/backfills',
          html`<p class="error" role="alert">${error.message}</p>
            <p><a href="/ui/backfills">Back</a></p>`,
          api.workspace,
        ),
        error.status as 409,
      );
    }
    return c.redirect('/ui/backfills', 303);
  });
  ui.get(
    '/schedules',
    page(
      () => 'Schedules',
      '/ui/schedules',
      (api) => schedulesPage(api),
    ),
  );
  ui.get(
    '/sensors',
    page(
      () => 'Sensors',
      '/ui/sensors',
      (api) => sensorsPage(api),
    ),
  );
  ui.get(
    '/delta',
    page(
      () => 'Delta tables',
      '/ui/delta',
      (api) => deltaTablesPage(api),
    ),
  );
  ui.get('/delta/by-name/:name', async (c) => {
    const api = uiApi(app, c, deps.config.publicBaseUrl);
    const { tables } = await api.get<{ tables: Array<{ table_id: string }> }>(
      `/api/v1/delta/tables?name=${encodeURIComponent(param(c, 'name'))}`,
    );
    const version = c.req.query('version');
    if (!tables[0])
      return c.html(
        layout(
          'Table not found',
          '/ui/delta',
          html`<p>No table named ${param(c, 'name')}.</p>`,
          api.workspace,
        ),
        404,
      );
    return c.redirect(
      `/ui/delta/${tables[0].table_id}${version ? `?version=${encodeURIComponent(version)}#v${encodeURIComponent(version)}` : ''}`,
    );
  });
  ui.get(
    '/delta/:tableId',
    page(
      () => 'Delta table',
      '/ui/delta',
      (api, c) =>
        deltaTablePage(
          api,
          param(c, 'tableId'),
          c.req.query('version') ? Number(c.req.query('version')) : undefined,
        ),
    ),
  );
  ui.get(
    '/registry',
    page(
      () => 'Data contracts',
      '/ui/registry',
      (api) => datasetsPage(api),
    ),
  );
  ui.get(
    '/registry/:datasetId',
    page(
      () => 'Dataset',
      '/ui/registry',
      (api, c) => datasetPage(api, param(c, 'datasetId')),
    ),
  );
  ui.get(
    '/registry/:datasetId/:layer/diff',
    page(
      () => 'Schema diff',
      '/ui/registry',
      (api, c) =>
        diffPage(
          api,
          param(c, 'datasetId'),
          param(c, 'layer'),
          c.req.query('from') ?? '1',
          c.req.query('to') ?? '1',
        ),
    ),
  );
  return ui;
}
