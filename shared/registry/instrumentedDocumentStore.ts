import { AsyncLocalStorage } from 'node:async_hooks';
import type { DocumentStore } from '../adapters/documentStore.ts';
import { storeErrors, storeLatency } from './registryMetrics.ts';

type Operation = 'read' | 'write';

const OPERATIONS: Record<keyof DocumentStore, Operation> = {
  get: 'read',
  getMany: 'read',
  getVersioned: 'read',
  query: 'read',
  count: 'read',
  create: 'write',
  set: 'write',
  setMany: 'write',
  delete: 'write',
  deleteMany: 'write',
  compareAndSet: 'write',
  runTransaction: 'write',
};

/** Store time and failures of one request, for its `dcr.request.completed` line (and log-based metrics). */
export interface StoreTotals {
  read_ms: number;
  write_ms: number;
  calls: number;
  errors: number;
}

const requestTotals = new AsyncLocalStorage<StoreTotals>();

/** Runs `work` with store totals collected for it. */
export function collectStoreTotals<T>(work: () => Promise<T>): { totals: StoreTotals; done: Promise<T> } {
  const totals: StoreTotals = { read_ms: 0, write_ms: 0, calls: 0, errors: 0 };
  return { totals, done: requestTotals.run(totals, work) };
}

/** The registry's view of the document store: every call timed into `registry_store_latency_ms`. */
export function instrumentedDocumentStore(inner: DocumentStore): DocumentStore {
  const wrapped = {} as Record<string, unknown>;
  for (const [method, operation] of Object.entries(OPERATIONS)) {
    const original = (inner as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method]!;
    wrapped[method] = async (...args: unknown[]) => {
      const started = performance.now();
      const totals = requestTotals.getStore();
      try {
        return await original.apply(inner, args);
      } catch (error) {
        storeErrors.inc({ operation });
        if (totals) totals.errors += 1;
        throw error;
      } finally {
        const elapsed = performance.now() - started;
        storeLatency.observe({ operation }, elapsed);
        if (totals) {
          totals.calls += 1;
          totals[operation === 'read' ? 'read_ms' : 'write_ms'] += elapsed;
        }
      }
    };
  }
  return wrapped as unknown as DocumentStore;
}
