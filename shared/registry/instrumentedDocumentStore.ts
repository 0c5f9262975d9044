import type { DocumentStore } from '../adapters/documentStore.ts';
import { storeErrors, storeLatency } from './registryMetrics.ts';

type Operation = 'read' | 'write';

const OPERATIONS: Record<keyof DocumentStore, Operation> = {
  get: 'read',
  getVersioned: 'read',
  query: 'read',
  count: 'read',
  create: 'write',
  set: 'write',
  delete: 'write',
  compareAndSet: 'write',
  runTransaction: 'write',
};

/** The registry's view of the document store: every call timed into `registry_store_latency_ms`. */
export function instrumentedDocumentStore(inner: DocumentStore): DocumentStore {
  const wrapped = {} as Record<string, unknown>;
  for (const [method, operation] of Object.entries(OPERATIONS)) {
    const original = (inner as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method]!;
    wrapped[method] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        return await original.apply(inner, args);
      } catch (error) {
        storeErrors.inc({ operation });
        throw error;
      } finally {
        storeLatency.observe({ operation }, performance.now() - started);
      }
    };
  }
  return wrapped as unknown as DocumentStore;
}
