import { randomBytes } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { type LocalTokenRequest, LocalTokenVerifier, mintLocalToken } from '../../shared/auth/localTokens.ts';
import { Failpoints } from '../../shared/core/failpoints.ts';
import { createLogger, type LogSink } from '../../shared/observability/logger.ts';
import { loadConfig } from '../../shared/runtime/config.ts';
import { PUSH_SUBSCRIPTIONS } from '../../shared/runtime/resources.ts';
import { createAdapters, type Dependencies } from '../../shared/runtime/dependencies.ts';

export const TEST_SECRET = 'test-secret-for-local-tokens-only';

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;

/**
 * The project's push subscriptions under names of this test's own: test files of one worker share a
 * Pub/Sub project, and an existing subscription would keep pushing to another file's (closed) host.
 */
export const testPushSubscriptions = () =>
  PUSH_SUBSCRIPTIONS.map((p) => ({ ...p, subscription: uniqueName(p.subscription) }));

/** A fresh bucket in the GCS stand-in. */
export async function createTestBucket(): Promise<string> {
  const name = uniqueName('arco-test');
  await new Storage().createBucket(name);
  return name;
}

/** Real adapters against the emulators, with a bucket of the test's own and a test signing secret. */
export async function testDependencies(
  overrides: Partial<Dependencies> = {},
  logSink?: LogSink,
  bucketName?: string,
): Promise<Dependencies> {
  const bucket = bucketName ?? (await createTestBucket());
  const config = {
    ...loadConfig({
      ...process.env,
      ARCO_LOCAL_STACK: '1',
      ARCO_STORAGE_BUCKET: bucket,
      ARCO_AUTH_MODE: 'local',
    }),
    maxBodyBytes: 64 * 1024,
    pushToken: 'test-push-token',
    taskTokenSecret: 'test-task-token-secret',
  };
  return {
    config,
    ...createAdapters(config),
    failpoints: new Failpoints(true),
    tokens: new LocalTokenVerifier(TEST_SECRET),
    log: createLogger({}, logSink ?? (() => {}), logSink ? 'DEBUG' : 'SILENT'),
    ...overrides,
  };
}

export const testToken = (request: LocalTokenRequest) => mintLocalToken(TEST_SECRET, request);

export const bearer = async (request: LocalTokenRequest) => ({
  Authorization: `Bearer ${await testToken(request)}`,
});
