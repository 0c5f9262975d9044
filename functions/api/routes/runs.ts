import { Hono } from 'hono';
import { badRequest, notFound } from '../../../shared/core/arcoError.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import {
  compareAsc,
  compareDescThenAsc,
  decodeCursor,
  keysetPage,
  pageLimit,
} from '../../../shared/http/keysetPage.ts';
import {
  type EdgeRow,
  type RunRow,
  type TaskRow,
  taskRowKeysOf,
} from '../../../shared/orchestration/run/evolve.ts';
import { readerFor } from '../../../shared/orchestration/orchestrationServices.ts';
import { TERMINAL_RUN_STATES } from '../../../shared/orchestration/state/projectionTables.ts';
import { partitionResponse, runListItem, runResponse } from '../../../shared/orchestration/run/runViews.ts';
import { PUBLIC_RUN_STATES, publicRunState } from '../../../shared/orchestration/run/publicStates.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';
import { partitionFilter } from '../../../shared/http/partitionInput.ts';

/** Runs and partitions of a workspace (orchestration spec §20.5), read from the published projections. */
export function runRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();

  routes.get('/workspaces/:workspaceId/runs', async (c) => {
    const limit = pageLimit(c.req.query('limit'), 20);
    const state = c.req.query('state')?.toUpperCase() || undefined;
    // A state no run can have would filter every run out: say so instead of answering an empty list.
    if (state !== undefined && !(PUBLIC_RUN_STATES as readonly string[]).includes(state))
      throw badRequest(`state must be one of ${PUBLIC_RUN_STATES.join(', ')}`, { field: 'state' });
    const snapshot = await readerFor(deps, c.get('principal').scope!).snapshot();
    const pipeline = c.req.query('pipeline');
    const ofPartition = partitionFilter(c.req.query('partitionKey'));
    const after = decodeCursor(c.req.query('cursor'));
    if (after && after.length !== 2) throw badRequest('invalid cursor');
    const sortKey = (run: RunRow) => [run.triggeredAt, run.runId];
    const wanted = (run: RunRow) =>
      (!state || publicRunState(run) === state) &&
      (!pipeline || run.labels?.['arco.pipeline'] === pipeline) &&
      ofPartition(run.labels?.['arco.partition']) &&
      (!after || compareDescThenAsc(sortKey(run), after) > 0);
    // A run in progress is in a shard that counts one. Any other page reads the newest shards until
    // they hold the page and one run more (which says another page follows), not the whole history.
    const inProgress = state !== undefined && !TERMINAL_RUN_STATES.has(state);
    const read = inProgress
      ? await snapshot.openRows('runs')
      : await snapshot.newestRows('runs', limit + 1, (row) => wanted(row as RunRow), after?.[0]);
    const runs = (read as RunRow[]).filter(wanted).sort((a, b) => compareDescThenAsc(sortKey(a), sortKey(b)));
    const { page, nextCursor } = keysetPage(runs, sortKey, compareDescThenAsc, limit, c.req.query('cursor'));
    return c.json({ runs: page.map(runListItem), ...(nextCursor ? { nextCursor } : {}) });
  });

  routes.get('/workspaces/:workspaceId/runs/:runId', async (c) => {
    const runId = c.req.param('runId');
    const scope = c.get('principal').scope!;
    const snapshot = await readerFor(deps, scope).snapshot();
    const run = ((await snapshot.rowsOf('runs', runId)) as RunRow[]).find((r) => r.runId === runId);
    if (!run) throw notFound(`run not found: ${runId}`);
    // The run names its tasks and their slice count, and so the slices of its tasks and of its edges
    // (sliced by upstream): both are read at once.
    const runSlices = run.taskSlices;
    const [tasks, edges] = (await Promise.all([
      snapshot.rowsWithKeys('tasks', taskRowKeysOf(run)),
      snapshot.rowsInSlicesOf(
        'dep_satisfaction',
        run.taskKeys.map((upstreamTaskKey) => ({ runId, upstreamTaskKey, runSlices })),
      ),
    ])) as [TaskRow[], EdgeRow[]];
    return c.json(runResponse(run, tasks, edges, scope.workspace));
  });

  routes.get('/workspaces/:workspaceId/partitions', async (c) => {
    const limit = pageLimit(c.req.query('limit'), 50);
    const assetKey = c.req.query('assetKey') ?? c.req.query('asset');
    const staleOnly = c.req.query('staleOnly');
    if (staleOnly !== undefined && staleOnly !== 'true' && staleOnly !== 'false')
      throw badRequest('staleOnly must be true or false');
    const ofPartition = partitionFilter(c.req.query('partitionKey'));
    const snapshot = await readerFor(deps, c.get('principal').scope!).snapshot();
    const rows = (
      assetKey ? await snapshot.rowsOf('partition_status', assetKey) : await snapshot.rows('partition_status')
    )
      .filter((row) => !assetKey || row.assetKey === assetKey)
      .filter((row) => staleOnly !== 'true' || row.staleSince !== undefined)
      .filter((row) => ofPartition(row.partitionKey))
      .sort((a, b) =>
        compareAsc(
          [String(a.assetKey), String(a.partitionKey)],
          [String(b.assetKey), String(b.partitionKey)],
        ),
      );
    const { page, nextCursor } = keysetPage(
      rows,
      (r) => [String(r.assetKey), String(r.partitionKey)],
      compareAsc,
      limit,
      c.req.query('cursor'),
    );
    return c.json({ partitions: page.map(partitionResponse), ...(nextCursor ? { nextCursor } : {}) });
  });

  routes.get('/workspaces/:workspaceId/assets/:assetKey/partitions/summary', async (c) => {
    const assetKey = c.req.param('assetKey');
    const snapshot = await readerFor(deps, c.get('principal').scope!).snapshot();
    const rows = (await snapshot.rowsOf('partition_status', assetKey)).filter((r) => r.assetKey === assetKey);
    if (!rows.length) throw notFound(`no partitions for asset ${assetKey}`);
    const materialized = rows.filter((r) => r.lastMaterializationRunId !== undefined).length;
    return c.json({
      assetKey,
      totalPartitions: rows.length,
      materializedPartitions: materialized,
      stalePartitions: rows.filter((r) => r.staleSince !== undefined).length,
      missingPartitions: rows.length - materialized,
    });
  });
  return routes;
}
