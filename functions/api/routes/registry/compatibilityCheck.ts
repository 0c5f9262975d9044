import { Hono } from 'hono';
import { notFound } from '../../../../shared/core/arcoError.ts';
import type { AppEnv } from '../../../../shared/http/appEnv.ts';
import { parseJsonBody, validator } from '../../../../shared/http/jsonBody.ts';
import { classify } from '../../../../shared/registry/compatibility.ts';
import { baseVersionOf } from '../../../../shared/registry/ingestPlan.ts';
import { LAYERS, type Layer } from '../../../../shared/registry/registryRecords.ts';
import { validateSchema } from '../../../../shared/registry/schemaValidation.ts';
import type { RegistryContext } from './registryContext.ts';
import { endpoint, recordDiffTime, registryJson, withLayerMessage } from './registryRequest.ts';

const checkBody = validator<{
  dataset_id: string;
  layer: Layer;
  base_version?: number | null;
  schema_json: object;
}>({
  type: 'object',
  additionalProperties: false,
  required: ['dataset_id', 'layer', 'schema_json'],
  properties: {
    dataset_id: { type: 'string', format: 'uuid' },
    layer: { enum: [...LAYERS] },
    base_version: { type: ['integer', 'null'], minimum: 1 },
    schema_json: { type: 'object' },
  },
});

/**
 * Spec §5.10: an ingest's dry run. Classifies against `base_version` (or the base an ingest would
 * pick), lists the changes and every incompatibility with its field, and evaluates the gate.
 */
export function compatibilityCheckRoutes(registry: RegistryContext) {
  const { deps, limiter } = registry;
  const routes = new Hono<AppEnv>();
  routes.post(
    '/compatibility/check',
    endpoint(deps, limiter, 'POST', '/compatibility/check', 'check', ['producer', 'consumer', 'operator']),
    async (c) => {
      const body = await parseJsonBody(c, { lossless: true });
      const input = withLayerMessage(() => checkBody(body));
      const schema = validateSchema(input.schema_json);
      const store = registry.store(c);
      const { plan, layer, versions, diffMs } = await store.dryRun(
        {
          datasetId: input.dataset_id.toLowerCase(),
          layer: input.layer,
          schema,
          schemaRegistryId: null,
          setCurrentIfCompatible: true,
        },
        registry.writeContext(c),
      );
      recordDiffTime(c, input.layer, diffMs);
      const gate = {
        breaking: plan.gate.breaking,
        unmet: plan.gate.unmet,
        would_promote: !plan.gate.breaking,
      };
      const baseNumber = input.base_version ?? baseVersionOf(layer);
      if (baseNumber === null)
        return c.json({
          classification: 'none',
          changes: [],
          compatibility: 'both',
          base_version: null,
          gate,
        });
      const base =
        versions.get(baseNumber) ??
        (await store.version(input.dataset_id.toLowerCase(), input.layer, baseNumber));
      if (!base) throw notFound(`version ${baseNumber} not found`, { field: 'base_version' });
      const started = performance.now();
      const verdict = store.verdict(base, schema);
      const changes = registry.cache.diff(base.schema_hash, schema.hash, store.parsed(base), schema.root);
      recordDiffTime(c, input.layer, performance.now() - started);
      return registryJson(c, {
        classification: classify(verdict.compatibility),
        changes,
        compatibility: verdict.compatibility,
        base_version: baseNumber,
        incompatibilities: { backward: verdict.backward_issues, forward: verdict.forward_issues },
        gate,
      });
    },
  );
  return routes;
}
