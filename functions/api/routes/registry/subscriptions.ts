import { Hono } from 'hono';
import type { AppEnv } from '../../../../shared/http/appEnv.ts';
import { parseJsonBody, validator } from '../../../../shared/http/jsonBody.ts';
import { subscriptionsGauge } from '../../../../shared/registry/registryMetrics.ts';
import {
  LAYERS,
  type Layer,
  type RequiredCompatibility,
} from '../../../../shared/registry/registryRecords.ts';
import type { RegistryContext } from './registryContext.ts';
import {
  datasetIdParam,
  dcrEvent,
  endpoint,
  envelope,
  idempotentCreate,
  layerParam,
  pageParams,
  withLayerMessage,
} from './registryRequest.ts';

const createSubscriptionBody = validator<{
  dataset_id: string;
  layer: Layer;
  consumer: string;
  required_compatibility: RequiredCompatibility;
  min_version: number;
}>({
  type: 'object',
  additionalProperties: false,
  required: ['dataset_id', 'layer', 'consumer', 'required_compatibility'],
  properties: {
    dataset_id: { type: 'string', format: 'uuid' },
    layer: { enum: [...LAYERS] },
    consumer: { type: 'string', minLength: 1, maxLength: 128 },
    required_compatibility: { enum: ['backward', 'forward', 'both'] },
    min_version: { type: 'integer', minimum: 1, default: 1 },
  },
});

/** Spec §5.8–5.9: consumers' subscriptions, which constrain future promotions of their layer. */
export function subscriptionRoutes(registry: RegistryContext) {
  const { deps, limiter } = registry;
  const routes = new Hono<AppEnv>();

  routes.post(
    '/subscriptions',
    endpoint(deps, limiter, 'POST', '/subscriptions', 'write', ['consumer']),
    async (c) => {
      const body = await parseJsonBody(c, { lossless: true });
      return idempotentCreate(c, deps, 'subscription', body, async () => {
        const input = withLayerMessage(() => createSubscriptionBody(body));
        const store = registry.store(c);
        const subscription = await store.createSubscription(
          { ...input, dataset_id: input.dataset_id.toLowerCase() },
          registry.writeContext(c),
        );
        dcrEvent(c, 'dcr.subscription.created', {
          dataset_id: subscription.dataset_id,
          layer: subscription.layer,
          consumer: subscription.consumer,
          subscription_id: subscription.subscription_id,
        });
        subscriptionsGauge.set(
          { layer: subscription.layer },
          await store.countSubscriptionsEverywhere(subscription.layer).catch(() => Number.NaN),
        );
        return { status: 201, body: subscription };
      });
    },
  );

  routes.get(
    '/subscriptions',
    endpoint(deps, limiter, 'GET', '/subscriptions', 'read', ['producer', 'consumer', 'operator']),
    async (c) => {
      const datasetId = c.req.query('dataset_id') || undefined;
      const layer = c.req.query('layer') || undefined;
      const filters = {
        dataset_id: datasetId && datasetIdParam(c, datasetId),
        layer: layer && layerParam(layer),
        consumer: c.req.query('consumer') || undefined,
      };
      const page = pageParams(c);
      const result = await registry.store(c).listSubscriptions(filters, page);
      dcrEvent(c, 'dcr.subscription.listed', {
        dataset_id: filters.dataset_id,
        layer: filters.layer,
        consumer: filters.consumer,
        total: result.total,
      });
      return c.json(envelope(result, page));
    },
  );
  return routes;
}
