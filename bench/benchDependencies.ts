import { Storage } from '@google-cloud/storage';
import { systemClock } from '../shared/adapters/clock.ts';
import { CloudTasksQueue } from '../shared/adapters/cloudTasksQueue.ts';
import { FirestoreDocumentStore } from '../shared/adapters/firestoreDocumentStore.ts';
import { GcsObjectStore } from '../shared/adapters/gcsObjectStore.ts';
import { monotonicUlids } from '../shared/adapters/idGenerator.ts';
import { PubSubPublisher } from '../shared/adapters/pubsubPublisher.ts';
import { LocalTokenVerifier } from '../shared/auth/localTokens.ts';
import { Failpoints } from '../shared/core/failpoints.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { loadConfig } from '../shared/runtime/config.ts';
import type { Dependencies } from '../shared/runtime/dependencies.ts';

/** Real adapters on the bench's emulators, with a fresh bucket, silent logs and no failpoints. */
export async function benchDependencies(name: string, secret: string): Promise<Dependencies> {
  const bucket = `arco-bench-${name}-${Date.now()}`;
  await new Storage().createBucket(bucket);
  const config = loadConfig({ ...process.env, ARCO_STORAGE_BUCKET: bucket, ARCO_LOCAL_STACK: '1' });
  return {
    config,
    objects: new GcsObjectStore(bucket),
    documents: new FirestoreDocumentStore(),
    publisher: new PubSubPublisher(),
    tasks: new CloudTasksQueue(config.project, config.location),
    clock: systemClock,
    ids: monotonicUlids(),
    failpoints: new Failpoints(false),
    tokens: new LocalTokenVerifier(secret),
    log: createLogger({}, () => {}, 'SILENT'),
  };
}
