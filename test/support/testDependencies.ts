import { randomBytes } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { type LocalTokenRequest, LocalTokenVerifier, mintLocalToken } from '../../shared/auth/localTokens.ts';
import { Failpoints } from '../../shared/core/failpoints.ts';
import { createLogger, type LogSink } from '../../shared/observability/logger.ts';
import { loadConfig } from '../../shared/runtime/config.ts';
import type { TaskQueue } from '../../shared/adapters/taskQueue.ts';
import { parseCompactionHint } from '../../shared/orchestration/state/compactionHint.ts';
import { compactorFor } from '../../shared/orchestration/orchestrationServices.ts';
import { COMPACTION_HINT_QUEUE, PUSH_SUBSCRIPTIONS } from '../../shared/runtime/resources.ts';
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
    // Publish after every fold: these tests read what they just wrote; the cadence has tests of its own.
    publishIntervalMs: 0,
    pushToken: 'test-push-token',
    taskTokenSecret: 'test-task-token-secret',
  };
  const adapters = createAdapters(config);
  const deps: Dependencies = {
    config,
    ...adapters,
    failpoints: new Failpoints(true),
    tokens: new LocalTokenVerifier(TEST_SECRET),
    log: createLogger({}, logSink ?? (() => {}), logSink ? 'DEBUG' : 'SILENT'),
    ...overrides,
  };
  // These tests run the functions in their own process with no HTTP host for Cloud Tasks to reach:
  // an append's compaction hint goes to this process's scheduler, as the queue would deliver it.
  if (!overrides.tasks) deps.tasks = inProcessHints(adapters.tasks, () => deps);
  return deps;
}

/** A TaskQueue that hands compaction hints to this process's scheduler and everything else to Cloud Tasks. */
function inProcessHints(queue: TaskQueue, deps: () => Dependencies): TaskQueue {
  return {
    enqueue: async (task) => {
      if (task.queue !== COMPACTION_HINT_QUEUE) return queue.enqueue(task);
      const hint = parseCompactionHint(task.body);
      if (hint) {
        const { tenant, workspace, batchId, paths, eventsJson } = hint;
        void compactorFor(deps(), { tenant, workspace })
          .hint(batchId && paths ? { batchId, paths, ...(eventsJson ? { eventsJson } : {}) } : undefined)
          .catch(() => {});
      }
      return { status: 'enqueued', name: task.name ?? 'hint' };
    },
  };
}

export const testToken = (request: LocalTokenRequest) => mintLocalToken(TEST_SECRET, request);

export const bearer = async (request: LocalTokenRequest) => ({
  Authorization: `Bearer ${await testToken(request)}`,
});
