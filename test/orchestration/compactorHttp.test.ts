import { beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../local/functionApps.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { ledgerPath } from '../../shared/orchestration/state/events.ts';
import { ledgerFor } from '../../shared/orchestration/orchestrationServices.ts';
import { POINTER_PATH } from '../../shared/orchestration/state/projectionStore.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { apiClient } from '../support/apiClient.ts';
import { bearer, testDependencies, uniqueName } from '../support/testDependencies.ts';

describe('the compactor function over HTTP', () => {
  let deps: Dependencies;
  let app: ReturnType<typeof createGatewayApp>;
  const scope = { tenant: 'acme', workspace: uniqueName('ws') };
  beforeAll(async () => {
    deps = await testDependencies();
    app = createGatewayApp(deps);
  });
  const trigger = { type: 'run_triggered' as const, runId: 'r1', planId: 'p1', trigger: {}, rootAssets: [] };

  it('rebuilds as the DR runbook calls it, for the internal identity only', async () => {
    // No hint: the event stays unfolded until the rebuild replays it.
    const { events } = await ledgerFor(deps, scope, { hint: false }).append([{ data: trigger }]);
    const key = 'state/orchestration/rebuilds/20261123-101500.json';
    await scopedObjectStore(deps.objects, scope).put(
      key,
      JSON.stringify({ event_paths: events.map(ledgerPath) }),
    );
    const body = { rebuild_manifest_path: key };
    expect((await apiClient(app, {}).post('/compactor/rebuild', body)).status).toBe(401);
    expect(
      (await apiClient(app, await bearer({ ...scope, roles: ['operator'] })).post('/compactor/rebuild', body))
        .status,
    ).toBe(403);
    const internal = apiClient(app, await bearer({ ...scope, internal: true }));
    const response = await internal.post('/compactor/rebuild', body);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      events_processed: 1,
      visibility_status: 'visible',
      manifest_id: '00000000000000000001',
    });
    expect(response.body.manifest_revision).toMatch(/^[0-9A-Z]{26}$/);
    // No scheduler ran in this process: the rebuild took the lease for itself alone and let it go, so the
    // compaction function gets it at once (a rebuild instance stays no scheduler).
    expect((await internal.post('/compactor/compact', {})).status).toBe(200);
    expect(
      (await internal.post('/compactor/rebuild', { rebuild_manifest_path: 'elsewhere.json' })).status,
    ).toBe(400);
    expect(
      (await internal.post('/compactor/rebuild', { rebuild_manifest_path: key, surprise: 1 })).status,
    ).toBe(400);
    expect(
      (
        await internal.post('/compactor/rebuild', {
          rebuild_manifest_path: 'state/orchestration/rebuilds/none.json',
        })
      ).status,
    ).toBe(404);
  });

  it('takes the workspace of a service identity from headers, and refuses an internal call that names none', async () => {
    const service = apiClient(app, await bearer({ internal: true }));
    expect((await service.post('/compactor/compact', {})).status).toBe(400);
    const named = await apiClient(app, {
      ...(await bearer({ internal: true })),
      'X-Tenant-Id': scope.tenant,
      'X-Workspace-Id': scope.workspace,
    }).post('/compactor/compact', {});
    expect(named.status).toBe(200);
  });

  it('folds a hinted batch for the internal identity only, and publishes it without a compaction call', async () => {
    const other = { tenant: 'acme', workspace: uniqueName('hint') };
    const { batchId, paths } = await ledgerFor(deps, other).append([{ data: trigger }]);
    const hint = { ...other, batchId, paths };
    expect((await apiClient(app, {}).post('/compactor/hint', hint)).status).toBe(401);
    const internal = await bearer({ ...other, internal: true });
    const accepted = await apiClient(app, internal).post('/compactor/hint', hint);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({ folded: true });
    // The first publish of an idle workspace follows the fold at once; later ones keep the cadence.
    const deadline = Date.now() + 10_000;
    while (!(await scopedObjectStore(deps.objects, other).head(POINTER_PATH)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(await scopedObjectStore(deps.objects, other).head(POINTER_PATH)).not.toBeNull();
    expect(
      (await apiClient(app, internal).post('/compactor/hint', { tenant: 'NOT A SCOPE' })).body,
    ).toMatchObject({
      ignored: expect.any(String),
    });
  });
});
