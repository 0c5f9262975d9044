import { Hono } from 'hono';
import { badRequest } from '../../../../shared/core/arcoError.ts';
import type { AppEnv } from '../../../../shared/http/appEnv.ts';
import { parseJsonBody, validator } from '../../../../shared/http/jsonBody.ts';
import type { DatasetStatus } from '../../../../shared/registry/registryRecords.ts';
import type { RegistryContext } from './registryContext.ts';
import {
  datasetIdParam,
  dcrEvent,
  endpoint,
  envelope,
  idempotentCreate,
  pageParams,
  REGISTRY_BASE,
} from './registryRequest.ts';

const NAME = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' };

const createDatasetBody = validator<{
  namespace: string;
  name: string;
  owner: string;
  steward?: string | null;
}>({
  type: 'object',
  additionalProperties: false,
  required: ['namespace', 'name', 'owner'],
  properties: {
    namespace: NAME,
    name: NAME,
    owner: { type: 'string', minLength: 1, maxLength: 128 },
    steward: { type: ['string', 'null'], maxLength: 254 },
  },
});

const STATUSES: DatasetStatus[] = ['active', 'deprecated', 'retired'];

/** Spec §5.1–5.3: datasets. */
export function datasetRoutes(registry: RegistryContext) {
  const { deps, limiter } = registry;
  const routes = new Hono<AppEnv>();

  routes.post('/datasets', endpoint(deps, limiter, 'POST', '/datasets', 'write', ['producer']), async (c) => {
    const body = await parseJsonBody(c, { lossless: true });
    return idempotentCreate(c, deps, 'dataset', body, async () => {
      const dataset = await registry
        .store(c)
        .createDataset(createDatasetBody(body), registry.writeContext(c));
      dcrEvent(c, 'dcr.dataset.created', {
        dataset_id: dataset.dataset_id,
        namespace: dataset.namespace,
        name: dataset.name,
      });
      return {
        status: 201,
        body: dataset,
        headers: { Location: `${REGISTRY_BASE}/datasets/${dataset.dataset_id}` },
      };
    });
  });

  routes.get(
    '/datasets',
    endpoint(deps, limiter, 'GET', '/datasets', 'read', ['producer', 'consumer', 'operator']),
    async (c) => {
      const status = c.req.query('status');
      if (status && !STATUSES.includes(status as DatasetStatus))
        throw badRequest(`status must be one of ${STATUSES.join(', ')}`, { field: 'status' });
      const page = pageParams(c);
      const result = await registry.store(c).listDatasets(
        {
          namespace: c.req.query('namespace'),
          name: c.req.query('name'),
          owner: c.req.query('owner'),
          status,
        },
        page,
      );
      return c.json(envelope(result, page));
    },
  );

  routes.get(
    '/datasets/:dataset_id',
    endpoint(deps, limiter, 'GET', '/datasets/:dataset_id', 'read', ['producer', 'consumer', 'operator']),
    async (c) => {
      const store = registry.store(c);
      const dataset = await store.requireDataset(datasetIdParam(c));
      return c.json({ ...dataset, layers: await store.layers(dataset.dataset_id) });
    },
  );
  return routes;
}
