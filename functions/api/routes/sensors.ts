import { Hono } from 'hono';
import { ArcoError, badRequest } from '../../../shared/core/arcoError.ts';
import type { AppEnv } from '../../../shared/http/appEnv.ts';
import { compareAsc, compareDescThenAsc, keysetPage, pageLimit } from '../../../shared/http/keysetPage.ts';
import { ManifestStore } from '../../../shared/orchestration/manifestStore.ts';
import { readerFor } from '../../../shared/orchestration/orchestrationServices.ts';
import type { Row } from '../../../shared/orchestration/state/projectionTables.ts';
import { declaredSensor } from '../../../shared/orchestration/sensor/sensorEvaluation.ts';
import type { Dependencies } from '../../../shared/runtime/dependencies.ts';
import { plainPartitionFields } from '../../../shared/orchestration/run/runViews.ts';

const EVAL_STATUSES = ['TRIGGERED', 'NO_NEW_DATA', 'ERROR', 'SKIPPED_STALE_CURSOR'];

const sensorView = (id: string, kind: string, state: Row | undefined) => ({
  sensorId: id,
  kind,
  ...(state?.cursor !== undefined ? { cursor: state.cursor } : {}),
  ...(state?.lastEvaluationAt ? { lastEvaluationAt: state.lastEvaluationAt } : {}),
  status: state?.status ?? 'ACTIVE',
  stateVersion: Number(state?.stateVersion ?? 0),
});

const evalView = (row: Row) => ({
  evalId: row.evalId,
  sensorId: row.sensorId,
  ...(row.cursorBefore !== undefined ? { cursorBefore: row.cursorBefore } : {}),
  ...(row.cursorAfter !== undefined ? { cursorAfter: row.cursorAfter } : {}),
  evaluatedAt: row.evaluatedAt,
  status: String(row.status).toUpperCase(),
  ...(row.message ? { errorMessage: row.message } : {}),
  runRequestsCount: (row.runRequests as unknown[] | undefined)?.length ?? 0,
  runRequests: row.runRequests ?? [],
});

/** Sensors (orchestration spec §15, §20.5): declared in the manifest, evaluated by message or poll. */
export function sensorRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const base = '/workspaces/:workspaceId/sensors';

  routes.get(base, async (c) => {
    const scope = c.get('principal').scope!;
    const sensors = (await new ManifestStore(deps.documents, scope).latest())?.sensors ?? [];
    const snapshot = await readerFor(deps, scope).snapshot();
    const states = new Map((await snapshot.rows('sensor_state')).map((r) => [String(r.sensorId), r]));
    const sorted = [...sensors].sort((a, b) => compareAsc([a.id], [b.id]));
    const { page, nextCursor } = keysetPage(
      sorted,
      (s) => [s.id],
      compareAsc,
      pageLimit(c.req.query('limit'), 50),
      c.req.query('cursor'),
    );
    return c.json({
      sensors: page.map((s) => sensorView(s.id, s.kind, states.get(s.id))),
      ...(nextCursor ? { nextCursor } : {}),
    });
  });

  routes.get(`${base}/:sensorId`, async (c) => {
    const scope = c.get('principal').scope!;
    const sensor = await declaredSensor(deps, scope, c.req.param('sensorId'));
    const snapshot = await readerFor(deps, scope).snapshot();
    const state = (await snapshot.rowsOf('sensor_state', sensor.id)).find((r) => r.sensorId === sensor.id);
    return c.json(sensorView(sensor.id, sensor.kind, state));
  });

  routes.get(`${base}/:sensorId/evals`, async (c) => {
    const id = c.req.param('sensorId');
    const status = c.req.query('status')?.toUpperCase();
    if (status && !EVAL_STATUSES.includes(status))
      throw badRequest(`status must be one of ${EVAL_STATUSES.join(', ')}`);
    const since = c.req.query('since');
    const until = c.req.query('until');
    for (const [name, value] of [
      ['since', since],
      ['until', until],
    ] as const)
      if (value && Number.isNaN(Date.parse(value)))
        throw new ArcoError('invalid_argument', `${name} must be an RFC 3339 time`);
    const scope = c.get('principal').scope!;
    const snapshot = await readerFor(deps, scope).snapshot();
    const evals = (await snapshot.rowsOf('sensor_evals', id)).filter((r) => r.sensorId === id);
    // A sensor no longer deployed keeps its evaluations readable; a name never seen is a typo.
    if (!evals.length) await declaredSensor(deps, scope, id);
    const rows = evals
      .filter(
        (r) =>
          (!status || String(r.status).toUpperCase() === status) &&
          (!since || Date.parse(String(r.evaluatedAt)) >= Date.parse(since)) &&
          (!until || Date.parse(String(r.evaluatedAt)) <= Date.parse(until)),
      )
      .sort((a, b) =>
        compareDescThenAsc(
          [String(a.evaluatedAt), String(a.evalId)],
          [String(b.evaluatedAt), String(b.evalId)],
        ),
      );
    const { page, nextCursor } = keysetPage(
      rows,
      (r) => [String(r.evaluatedAt), String(r.evalId)],
      compareDescThenAsc,
      pageLimit(c.req.query('limit'), 50),
      c.req.query('cursor'),
    );
    return c.json({ evals: plainPartitionFields(page.map(evalView)), ...(nextCursor ? { nextCursor } : {}) });
  });

  return routes;
}
