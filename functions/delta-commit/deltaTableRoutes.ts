import { Hono } from 'hono';
import { badRequest, notFound } from '../../shared/core/arcoError.ts';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { requireRole, requireScope } from '../../shared/http/authMiddleware.ts';
import { readJsonBody, validator } from '../../shared/http/jsonBody.ts';
import { ANY_UUID } from '../../shared/core/uuid.ts';
import type { DeltaTable } from '../../shared/delta/deltaTableCatalog.ts';
import { deltaServices } from '../../shared/delta/deltaServices.ts';
import type { CreateTableRequest } from '../../shared/delta/deltaTables.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';

const createTableBody = validator<CreateTableRequest>({
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$', maxLength: 255 },
    location: { type: 'string', minLength: 1, maxLength: 1024 },
    partition_columns: {
      type: 'array',
      items: { type: 'string', minLength: 1, maxLength: 255 },
      uniqueItems: true,
    },
    schema_string: { type: 'string', minLength: 2, maxLength: 1_000_000 },
  },
});

const stageBody = validator<{ payload: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['payload'],
  properties: { payload: { type: 'string', minLength: 1 } },
});

interface CommitBody {
  read_version: number;
  staged_path: string;
  staged_version: string;
  idempotency_key?: string;
}

// Unknown fields are ignored here, as the reference does, so older clients keep working.
const commitBody = validator<CommitBody>({
  type: 'object',
  required: ['read_version', 'staged_path', 'staged_version'],
  properties: {
    read_version: { type: 'integer', minimum: -1 },
    staged_path: { type: 'string', minLength: 1, maxLength: 1024 },
    staged_version: { type: 'string', minLength: 1, maxLength: 64 },
    idempotency_key: { type: 'string', minLength: 1, maxLength: 64 },
  },
});

const tableView = (table: DeltaTable, latestVersion: number) => ({
  table_id: table.table_id,
  name: table.name,
  location: table.location ?? table.root,
  partition_columns: table.partition_columns,
  latest_version: latestVersion,
});

/** The Delta commit coordinator's API (state-and-delta spec A2; snake_case per spec README decision 3). */
export function deltaTableRoutes(deps: Dependencies) {
  const routes = new Hono<AppEnv>();
  const services = (scope: NonNullable<AppEnv['Variables']['principal']['scope']>) =>
    deltaServices(deps, scope);
  routes.use('*', requireScope);
  routes.use('*', requireRole('operator', 'producer', 'consumer'));

  const tableIdParam = (raw: string) => {
    if (!ANY_UUID.test(raw)) throw badRequest('table_id must be a UUID', { reason: 'invalid_table_id' });
    return raw.toLowerCase();
  };
  const loadTable = async (scope: Parameters<typeof services>[0], raw: string) => {
    const tableId = tableIdParam(raw);
    const table = await services(scope).catalog.get(tableId);
    if (!table) throw notFound(`table ${tableId} not found`, { reason: 'table_not_found' });
    return table;
  };

  routes.post('/tables', requireRole('operator', 'producer'), async (c) => {
    const request = await readJsonBody(c, createTableBody);
    const { tables, coordinator } = services(c.get('principal').scope!);
    const { created, table } = await tables.create(request);
    const state = await coordinator.state(table.table_id);
    return c.json(tableView(table, state.latest_version), created ? 201 : 200);
  });

  routes.get('/tables', async (c) => {
    const { catalog, coordinator } = services(c.get('principal').scope!);
    const name = c.req.query('name');
    const found =
      name !== undefined
        ? [await catalog.findByName(name)].filter((t) => t !== null)
        : await catalog.list(200);
    const tables = await Promise.all(
      found.map(async (t) => tableView(t, (await coordinator.state(t.table_id)).latest_version)),
    );
    return c.json({ tables });
  });

  routes.get('/tables/:tableId', async (c) => {
    const scope = c.get('principal').scope!;
    const table = await loadTable(scope, c.req.param('tableId'));
    const state = await services(scope).coordinator.state(table.table_id);
    return c.json(tableView(table, state.latest_version));
  });

  routes.get('/tables/:tableId/coordinator', async (c) => {
    const scope = c.get('principal').scope!;
    const table = await loadTable(scope, c.req.param('tableId'));
    const state = await services(scope).coordinator.state(table.table_id);
    return c.json({ latest_version: state.latest_version, inflight: state.inflight });
  });

  routes.post('/tables/:tableId/commits/stage', requireRole('operator', 'producer'), async (c) => {
    const scope = c.get('principal').scope!;
    const table = await loadTable(scope, c.req.param('tableId'));
    const { payload } = await readJsonBody(c, stageBody);
    return c.json(await services(scope).tables.stage(table, payload));
  });

  routes.post('/tables/:tableId/commits', requireRole('operator', 'producer'), async (c) => {
    const scope = c.get('principal').scope!;
    const tableId = tableIdParam(c.req.param('tableId'));
    const body = await readJsonBody(c, commitBody);
    const header = c.req.header('idempotency-key');
    if (header && body.idempotency_key && header !== body.idempotency_key)
      throw badRequest('Idempotency-Key header and idempotency_key differ', {
        reason: 'invalid_idempotency_key',
      });
    const key = header ?? body.idempotency_key;
    if (!key) throw badRequest('an Idempotency-Key is required', { reason: 'invalid_idempotency_key' });
    const request = {
      key,
      read_version: body.read_version,
      staged_path: body.staged_path,
      staged_version: body.staged_version,
    };
    const { coordinator } = services(scope);
    // A replay is answered from its marker before the table is looked up, so it works even after a drop.
    const replayed = await coordinator.replay(tableId, request);
    if (replayed) return c.json(replayed);
    const table = await loadTable(scope, tableId);
    return c.json(await coordinator.commit({ tableId, root: table.root }, request));
  });
  return routes;
}
