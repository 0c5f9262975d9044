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

/** Calls of the GCS and Firestore adapters (`store`: gcs | firestore; `operation`: the adapter method). */
export const storageOperations = new Counter({
  name: 'storage_operations_total',
  help: 'Storage calls by store (gcs, firestore) and adapter operation',
  labelNames: ['store', 'operation'] as const,
  registers: [metricsRegistry],
});

/**
 * Firestore documents read, written and deleted (`kind`: read | write | delete), the units Firestore
 * bills: a batch of 200 writes is one `storage_operations_total` call but 200 writes here. A query
 * bills at least one read, and the documents its offset skips; a count one read per 1 000 index
 * entries. An upper bound: a lookup of a missing document, a refused write (already exists,
 * precondition failed) and each attempt of a retried transaction are counted too.
 */
export const firestoreDocuments = new Counter({
  name: 'firestore_documents_total',
  help: 'Firestore documents read, written and deleted (the billed units), by kind',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});

/** Moves of a workspace's manifest pointer: each publish of the orchestration projections. */
export const pointerMoves = new Counter({
  name: 'orchestration_pointer_moves_total',
  help: 'Manifest pointer moves (projection publishes)',
  registers: [metricsRegistry],
});

/**
 * Seconds between a pointer move and the workspace's previous one: the publish cadence, which Cloud
 * Storage's limit of about one write per second to one object name bounds from below.
 */
export const pointerMoveInterval = new Histogram({
  name: 'orchestration_pointer_move_interval_seconds',
  help: 'Seconds between consecutive manifest pointer moves of a workspace',
  buckets: [0.2, 0.4, 0.6, 0.8, 0.9, 1, 1.5, 2, 5, 15, 60],
  registers: [metricsRegistry],
});
