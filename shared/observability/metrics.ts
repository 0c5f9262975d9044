import { Counter, Histogram, Registry } from 'prom-client';

/** One registry per process, exported at `/metrics` in the Prometheus text format. */
export const metricsRegistry = new Registry();

export const apiRequestDuration = new Histogram({
  name: 'api_request_duration_ms',
  help: 'API request latency in milliseconds by route template, method and status',
  labelNames: ['route', 'method', 'status'] as const,
  buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
  registers: [metricsRegistry],
});

export const apiRequests = new Counter({
  name: 'api_requests_total',
  help: 'API responses by route template, method and status',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [metricsRegistry],
});
