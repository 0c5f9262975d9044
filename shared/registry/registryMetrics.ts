import { Counter, Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '../observability/metrics.ts';

/** The registry's metrics (spec §11.1), named as the runbook names them; buckets in milliseconds. */
const BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const registers = [metricsRegistry];

export const schemaIngests = new Counter({
  name: 'dcr_schema_ingests_total',
  help: 'Schema ingests by layer and result (ok, invalid, conflict); replays are not counted',
  labelNames: ['layer', 'result'] as const,
  registers,
});

export const schemaIngestLatency = new Histogram({
  name: 'dcr_schema_ingest_latency_ms',
  help: 'Latency of successful schema ingests in milliseconds',
  labelNames: ['layer'] as const,
  buckets: BUCKETS,
  registers,
});

export const versionClassifications = new Counter({
  name: 'dcr_version_classifications_total',
  help: 'New schema versions by classification (none = first version of its layer)',
  labelNames: ['layer', 'classification'] as const,
  registers,
});

export const currentSets = new Counter({
  name: 'dcr_current_set_total',
  help: 'Promotions of a version to current',
  labelNames: ['layer'] as const,
  registers,
});

export const breakingChanges = new Counter({
  name: 'dcr_breaking_changes_total',
  help: 'New versions stored with breaking: true (the promotion gate was not met)',
  labelNames: ['layer'] as const,
  registers,
});

export const diffLatency = new Histogram({
  name: 'dcr_diff_latency_ms',
  help: 'Diff, resolution and gate computation in milliseconds (store reads excluded)',
  labelNames: ['layer'] as const,
  buckets: BUCKETS,
  registers,
});

export const subscriptionsGauge = new Gauge({
  name: 'dcr_subscriptions_total',
  help: 'Subscriptions per layer in this deployment',
  labelNames: ['layer'] as const,
  registers,
});

export const storeLatency = new Histogram({
  name: 'registry_store_latency_ms',
  help: 'Firestore calls of the registry in milliseconds (read: get/query/count; write: commit/transaction)',
  labelNames: ['operation'] as const,
  buckets: BUCKETS,
  registers,
});

export const storeErrors = new Counter({
  name: 'registry_store_errors_total',
  help: 'Failed Firestore calls of the registry, including transactions that exhausted their retries',
  labelNames: ['operation'] as const,
  registers,
});

/** Times synchronous work into a histogram and returns its result. */
export function timed<T>(histogram: Histogram<'layer'>, layer: string, work: () => T): T {
  const started = performance.now();
  try {
    return work();
  } finally {
    histogram.observe({ layer }, performance.now() - started);
  }
}
