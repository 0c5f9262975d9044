import { Hono } from 'hono';
import { ArcoError, notFound } from '../../../../shared/core/arcoError.ts';
import { HTTP_STATUS } from '../../../../shared/http/errorBody.ts';
import type { AppEnv } from '../../../../shared/http/appEnv.ts';
import { parseJsonBody, validator } from '../../../../shared/http/jsonBody.ts';
import { classify } from '../../../../shared/registry/compatibility.ts';
import type { IngestPlan } from '../../../../shared/registry/ingestPlan.ts';
import {
  breakingChanges,
  currentSets,
  schemaIngestLatency,
  schemaIngests,
  versionClassifications,
} from '../../../../shared/registry/registryMetrics.ts';
import { ingestView, versionSummary, versionView } from '../../../../shared/registry/registryViews.ts';
import { validateSchema } from '../../../../shared/registry/schemaValidation.ts';
import type { RegistryContext } from './registryContext.ts';
import { KEPT_REFUSALS } from './registryRequest.ts';
import {
  datasetIdParam,
  dcrEvent,
  endpoint,
  envelope,
  idempotentCreate,
  layerParam,
  pageParams,
  positiveInt,
  recordDiffTime,
  registryJson,
} from './registryRequest.ts';

const ingestBody = validator<{
  schema_json: object;
  schema_registry_id?: string | null;
  set_current_if_compatible: boolean;
}>({
  type: 'object',
  additionalProperties: false,
  required: ['schema_json'],
  properties: {
    schema_json: { type: 'object' },
    schema_registry_id: { type: ['string', 'null'], minLength: 1, maxLength: 256 },
    set_current_if_compatible: { type: 'boolean', default: true },
  },
});

const LAYER_ROUTE = '/datasets/:dataset_id/layers/:layer';
const READERS = ['producer', 'consumer', 'operator'] as const;

/** Spec §5.4–5.7: schema ingest, versions and diffs of one dataset layer. */
export function schemaRoutes(registry: RegistryContext) {
  const { deps, limiter } = registry;
  const routes = new Hono<AppEnv>();

  routes.post(
    `${LAYER_ROUTE}/schemas`,
    endpoint(deps, limiter, 'POST', `${LAYER_ROUTE}/schemas`, 'write', ['producer']),
    async (c) => {
      const started = performance.now();
      const layerName = c.req.param('layer');
      const count = (status: number) =>
        schemaIngests.inc({
          layer: layerName,
          result: status < 300 ? 'ok' : status === 409 ? 'conflict' : 'invalid',
        });
      let created = false;
      try {
        const datasetId = datasetIdParam(c);
        const layer = layerParam(layerName);
        const body = await parseJsonBody(c, { lossless: true });
        const response = await idempotentCreate(c, deps, 'schema_version', body, async () => {
          const input = ingestBody(body);
          const { plan, diffMs } = await registry.store(c).ingest(
            {
              datasetId,
              layer,
              schema: validateSchema(input.schema_json),
              schemaRegistryId: input.schema_registry_id ?? null,
              setCurrentIfCompatible: input.set_current_if_compatible,
            },
            registry.writeContext(c),
          );
          recordDiffTime(c, layer, diffMs);
          emitIngestSignals(c, plan);
          created = plan.outcome === 'created';
          return { status: created ? 201 : 200, body: ingestView(plan) };
        });
        // Replays and deduplicated calls (spec §7.5) move no ingest metric.
        if (!c.get('replayed') && (created || response.status >= 400)) count(response.status);
        if (created) schemaIngestLatency.observe({ layer }, performance.now() - started);
        return response;
      } catch (error) {
        if (error instanceof ArcoError && KEPT_REFUSALS.has(error.code)) count(HTTP_STATUS[error.code]);
        throw error;
      }
    },
  );

  routes.get(
    `${LAYER_ROUTE}/versions`,
    endpoint(deps, limiter, 'GET', `${LAYER_ROUTE}/versions`, 'read', [...READERS]),
    async (c) => {
      const datasetId = datasetIdParam(c);
      const layer = layerParam(c.req.param('layer'));
      const page = pageParams(c);
      const store = registry.store(c);
      await store.requireDataset(datasetId);
      const result = await store.listVersions(datasetId, layer, page);
      return c.json(envelope({ items: result.items.map(versionSummary), total: result.total }, page));
    },
  );

  routes.get(
    `${LAYER_ROUTE}/versions/:version`,
    endpoint(deps, limiter, 'GET', `${LAYER_ROUTE}/versions/:version`, 'read', [...READERS]),
    async (c) => {
      const datasetId = datasetIdParam(c);
      const layer = layerParam(c.req.param('layer'));
      const requested = c.req.param('version');
      const store = registry.store(c);
      const version = requested === 'current' ? null : positiveInt(requested, 'version');
      await store.requireDataset(datasetId);
      const number = version ?? (await store.layer(datasetId, layer)).current_version;
      const record = number ? await store.version(datasetId, layer, number) : null;
      if (!record)
        throw notFound(version ? `version ${version} not found` : 'the layer has no current version');
      return registryJson(c, versionView(record));
    },
  );

  routes.get(
    `${LAYER_ROUTE}/diff`,
    endpoint(deps, limiter, 'GET', `${LAYER_ROUTE}/diff`, 'read', [...READERS]),
    async (c) => {
      const datasetId = datasetIdParam(c);
      const layer = layerParam(c.req.param('layer'));
      const from = positiveInt(c.req.query('from'), 'from');
      const to = positiveInt(c.req.query('to'), 'to');
      const store = registry.store(c);
      await store.requireDataset(datasetId);
      const [older, newer] = await Promise.all([
        store.version(datasetId, layer, from),
        store.version(datasetId, layer, to),
      ]);
      if (!older) throw notFound(`version ${from} not found`, { field: 'from' });
      if (!newer) throw notFound(`version ${to} not found`, { field: 'to' });
      const started = performance.now();
      const oldNode = store.parsed(older);
      const newNode = store.parsed(newer);
      const changes =
        from === to ? [] : registry.cache.diff(older.schema_hash, newer.schema_hash, oldNode, newNode);
      const verdict = registry.cache.verdict(older.schema_hash, newer.schema_hash, oldNode, newNode);
      recordDiffTime(c, layer, performance.now() - started);
      return registryJson(c, {
        from,
        to,
        changes,
        classification: from === to ? 'compatible' : classify(verdict.compatibility),
        compatibility: from === to ? 'both' : verdict.compatibility,
      });
    },
  );
  return routes;
}

/** Spec §7.6: logs and metrics after the ingest transaction committed. */
function emitIngestSignals(c: Parameters<typeof dcrEvent>[0], plan: IngestPlan) {
  const v = plan.version;
  const fields = {
    dataset_id: v.dataset_id,
    layer: v.layer,
    version: v.version,
    schema_registry_id: v.schema_registry_id,
    classification: v.classification,
    is_current: v.is_current,
    schema_hash: v.schema_hash,
    size_bytes: v.size_bytes,
  };
  if (plan.outcome === 'created') {
    dcrEvent(c, 'dcr.schema.ingested', fields);
    versionClassifications.inc({ layer: v.layer, classification: v.classification });
    if (v.base_version !== null)
      dcrEvent(c, 'dcr.version.classified', {
        ...fields,
        base_version: v.base_version,
        compatibility: v.compatibility,
      });
    if (v.breaking) {
      breakingChanges.inc({ layer: v.layer });
      dcrEvent(c, 'dcr.breaking.detected', { ...fields, unmet: v.unmet }, 'warn');
    }
  }
  if (plan.promoted) {
    currentSets.inc({ layer: v.layer });
    dcrEvent(c, 'dcr.current.set', { ...fields, previous_version: plan.previousCurrent });
  }
}
