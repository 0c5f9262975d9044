import { systemClock } from '../../shared/adapters/clock.ts';
import { monotonicUlids } from '../../shared/adapters/idGenerator.ts';
import { InMemoryDocumentStore } from '../../shared/adapters/inMemoryDocumentStore.ts';
import {
  InMemoryObjectStore,
  type InMemoryObjectStoreOptions,
} from '../../shared/adapters/inMemoryObjectStore.ts';
import { InMemoryTaskQueue } from '../../shared/adapters/inMemoryTaskQueue.ts';
import { LocalTokenVerifier } from '../../shared/auth/localTokens.ts';
import { Failpoints } from '../../shared/core/failpoints.ts';
import { createLogger, type LogSink } from '../../shared/observability/logger.ts';
import { parseCompactionHint } from '../../shared/orchestration/state/compactionHint.ts';
import { compactorFor } from '../../shared/orchestration/orchestrationServices.ts';
import { loadConfig } from '../../shared/runtime/config.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { COMPACTION_HINT_QUEUE } from '../../shared/runtime/resources.ts';

/**
 * The signing secret of test tokens; the same value as TEST_SECRET in testDependencies.ts, restated so
 * this module does not load the Google Cloud clients that one imports (tokens minted by `testToken` verify
 * here too).
 */
export const MEMORY_TEST_SECRET = 'test-secret-for-local-tokens-only';

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
 * under MEMORY_TEST_SECRET, a silent logger). Compaction hints are routed in-process unless `routeHints`
 * is false; every other task is only recorded in `memory.tasks`. Each call has stores of its own, but
 * module-level caches are shared within a test file (ProjectionReader's snapshots and manifests are
 * keyed by workspace), so give each test its own workspace. Synchronous, unlike testDependencies (no
 * bucket to create).
 */
export function inMemoryDependencies(
  options: InMemoryDependenciesOptions = {},
): Dependencies & { memory: MemoryAdapters } {
  const { overrides = {}, logSink } = options;
  const config = {
    ...loadConfig({
      ARCO_LOCAL_STACK: '1',
      ARCO_AUTH_MODE: 'local',
      ARCO_STORAGE_BUCKET: 'arco-memory',
      GOOGLE_CLOUD_PROJECT: 'demo-arco-memory',
    }),
    // As testDependencies: small bodies, and a publish after every fold (tests read what they just wrote).
    maxBodyBytes: 64 * 1024,
    publishIntervalMs: 0,
    pushToken: 'test-push-token',
    taskTokenSecret: 'test-task-token-secret',
  };
  const memory: MemoryAdapters = {
    objects: new InMemoryObjectStore(options.objects),
    documents: new InMemoryDocumentStore(),
    deltaDocuments: new InMemoryDocumentStore(),
    tasks: new InMemoryTaskQueue({
      onEnqueue: (task) => {
        if (options.routeHints === false || task.queue !== COMPACTION_HINT_QUEUE) return;
        const hint = parseCompactionHint(task.body);
        if (!hint) return;
        const { tenant, workspace, batchId, paths, eventsJson } = hint;
        // Not awaited, as a queue delivers after the enqueue returned; a failed fold is left to the scan.
        void compactorFor(result, { tenant, workspace })
          .hint(batchId && paths ? { batchId, paths, ...(eventsJson ? { eventsJson } : {}) } : undefined)
          .catch(() => {});
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
    failpoints: new Failpoints(true),
    tokens: new LocalTokenVerifier(MEMORY_TEST_SECRET),
    log: createLogger({}, logSink ?? (() => {}), logSink ? 'DEBUG' : 'SILENT'),
    ...overrides,
    memory,
  };
  return result;
}
