import { Firestore } from '@google-cloud/firestore';
import { Storage } from '@google-cloud/storage';
import type { Clock } from '../adapters/clock.ts';
import { systemClock } from '../adapters/clock.ts';
import { CloudTasksQueue } from '../adapters/cloudTasksQueue.ts';
import type { DocumentStore } from '../adapters/documentStore.ts';
import { FirestoreDocumentStore } from '../adapters/firestoreDocumentStore.ts';
import { GcsObjectStore } from '../adapters/gcsObjectStore.ts';
import { type IdGenerator, monotonicUlids } from '../adapters/idGenerator.ts';
import type { ObjectStore } from '../adapters/objectStore.ts';
import type { TaskQueue } from '../adapters/taskQueue.ts';
import { GoogleOidcVerifier } from '../auth/googleOidcVerifier.ts';
import { LocalTokenVerifier, resolveLocalSecret } from '../auth/localTokens.ts';
import type { TokenVerifier } from '../auth/tokenVerifier.ts';
import { Failpoints, parseFailpointSpec } from '../core/failpoints.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { loadConfig, type RuntimeConfig } from './config.ts';

/** The adapters a function handler works with; tests build the same thing against the emulators. */
export interface Dependencies {
  config: RuntimeConfig;
  objects: ObjectStore;
  documents: DocumentStore;
  /**
   * The Delta commit coordinator's own Firestore database (`ARCO_DELTA_DATABASE`, default `arco-delta`):
   * table catalog, location claims and coordinator state, apart so IAM can give it to delta-commit alone.
   */
  deltaDocuments: DocumentStore;
  tasks: TaskQueue;
  clock: Clock;
  ids: IdGenerator;
  failpoints: Failpoints;
  tokens: TokenVerifier;
  log: Logger;
}

export function createDependencies(loaded: RuntimeConfig = loadConfig()): Dependencies {
  // Locally the task-token secret derives from the local signing secret; GCP sets it from Secret Manager.
  const config =
    loaded.taskTokenSecret || loaded.authMode !== 'local'
      ? loaded
      : { ...loaded, taskTokenSecret: `${resolveLocalSecret(loaded.dataDir)}:task-tokens` };
  const adapters = createAdapters(config);
  const failpoints = new Failpoints(config.localStack);
  for (const [name, count] of parseFailpointSpec(config.failpointSpec)) failpoints.arm(name, count);
  return {
    config,
    ...adapters,
    failpoints,
    tokens:
      config.authMode === 'google'
        ? new GoogleOidcVerifier({
            audience: config.oidcAudience,
            internalServiceAccounts: config.internalServiceAccounts,
            directory: adapters.documents,
          })
        : new LocalTokenVerifier(resolveLocalSecret(config.dataDir)),
    log: createLogger({ service: process.env.K_SERVICE ?? 'arco' }),
  };
}

/** The clients every function uses, from configuration alone (tests and benchmarks reuse them). */
export function createAdapters(
  config: RuntimeConfig,
): Pick<Dependencies, 'objects' | 'documents' | 'deltaDocuments' | 'tasks' | 'clock' | 'ids'> {
  return {
    objects: new GcsObjectStore(config.bucket, new Storage({ projectId: config.project })),
    documents: new FirestoreDocumentStore(),
    deltaDocuments: new FirestoreDocumentStore(
      new Firestore({ databaseId: config.deltaDatabase, ignoreUndefinedProperties: true }),
    ),
    tasks: new CloudTasksQueue(config.project, config.location),
    clock: systemClock,
    ids: monotonicUlids(),
  };
}

let processDependencies: Dependencies | undefined;

/** One set of clients per process (a Cloud Functions instance reuses them across requests). */
export function dependencies(): Dependencies {
  processDependencies ??= createDependencies();
  return processDependencies;
}
