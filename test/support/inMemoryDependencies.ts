import { systemClock } from '../../shared/adapters/clock.ts';
import { monotonicUlids } from '../../shared/adapters/idGenerator.ts';
import { InMemoryDocumentStore } from '../../shared/adapters/inMemoryDocumentStore.ts';
import {
  InMemoryObjectStore,
  type InMemoryObjectStoreOptions,
} from '../../shared/adapters/inMemoryObjectStore.ts';
import { InMemoryTaskQueue } from '../../shared/adapters/inMemoryTaskQueue.ts';
import { type LogSink } from '../../shared/observability/logger.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { COMPACTION_HINT_QUEUE } from '../../shared/runtime/resources.ts';
import { deliverHintInProcess, testConfig, testServices } from './testRuntime.ts';

/** The in-memory adapters behind an InMemoryDependencies, whatever `overrides` replaced in it. */
export interface MemoryAdapters {
  objects: InMemoryObjectStore;
  documents: InMemoryDocumentStore;
  /** The Delta coordinator's database, a store apart as its Firestore database is. */
  deltaDocuments: InMemoryDocumentStore;
  tasks: InMemoryTaskQueue;
}

/** What inMemoryDependencies builds differently from its defaults. */
export interface InMemoryDependenciesOptions {
  /** Replaces any part of the result, as testDependencies' `overrides` do. */
  overrides?: Partial<Dependencies>;
  /** Receives the log lines (at DEBUG); silent when absent. */
  logSink?: LogSink;
  /** Options of the object store, e.g. the GCS per-object rate limit (off by default). */
  objects?: InMemoryObjectStoreOptions;
  /**
   * Whether a compaction hint goes to this process's scheduler, as Cloud Tasks would deliver it (the
   * default, like testDependencies' in-process hints), or is only recorded (`false`).
   */
  routeHints?: boolean;
}

/**
 * A Dependencies for domain tests that need no emulator: the in-memory object store, document stores (the
 * main and the Delta database) and task queue (shared/adapters/inMemory*.ts), and otherwise what
 * testDependencies builds (local-stack config with its test settings, armed failpoints, local tokens
 * under TEST_SECRET, a silent logger). Compaction hints are routed in-process unless `routeHints`
 * is false; every other task is only recorded in `memory.tasks`. Each call has stores of its own, but
 * module-level caches are shared within a test file (ProjectionReader's snapshots and manifests are
 * keyed by workspace), so give each test its own workspace. Synchronous, unlike testDependencies (no
 * bucket to create).
 */
export function inMemoryDependencies(
  options: InMemoryDependenciesOptions = {},
): Dependencies & { memory: MemoryAdapters } {
  const { overrides = {}, logSink } = options;
  const config = testConfig({ ARCO_STORAGE_BUCKET: 'arco-memory', GOOGLE_CLOUD_PROJECT: 'demo-arco-memory' });
  const memory: MemoryAdapters = {
    objects: new InMemoryObjectStore(options.objects),
    documents: new InMemoryDocumentStore(),
    deltaDocuments: new InMemoryDocumentStore(),
    tasks: new InMemoryTaskQueue({
      onEnqueue: (task) => {
        if (options.routeHints !== false && task.queue === COMPACTION_HINT_QUEUE)
          deliverHintInProcess(result, task.body);
      },
    }),
  };
  // One object, hints included: compactorFor keeps one scheduler per Dependencies object, so the hints
  // must reach the scheduler of the very object the test drains.
  const result: Dependencies & { memory: MemoryAdapters } = {
    config,
    objects: memory.objects,
    documents: memory.documents,
    deltaDocuments: memory.deltaDocuments,
    tasks: memory.tasks,
    clock: systemClock,
    ids: monotonicUlids(),
    ...testServices(logSink),
    ...overrides,
    memory,
  };
  return result;
}
