import { Storage } from '@google-cloud/storage';
import { LocalTokenVerifier } from '../shared/auth/localTokens.ts';
import { Failpoints } from '../shared/core/failpoints.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { loadConfig } from '../shared/runtime/config.ts';
import { createAdapters, type Dependencies } from '../shared/runtime/dependencies.ts';

/** Real adapters on the bench's emulators, with a fresh bucket, silent logs and no failpoints. */
export async function benchDependencies(name: string, secret: string): Promise<Dependencies> {
  const bucket = `arco-bench-${name}-${Date.now()}`;
  await new Storage().createBucket(bucket);
  const config = loadConfig({ ...process.env, ARCO_STORAGE_BUCKET: bucket, ARCO_LOCAL_STACK: '1' });
  return {
    config,
    ...createAdapters(config),
    failpoints: new Failpoints(false),
    tokens: new LocalTokenVerifier(secret),
    log: createLogger({}, () => {}, 'SILENT'),
  };
}
