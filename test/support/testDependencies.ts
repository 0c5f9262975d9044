import { randomBytes } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { type LocalTokenRequest, mintLocalToken } from '../../shared/auth/localTokens.ts';
import { type LogSink } from '../../shared/observability/logger.ts';
import type { TaskQueue } from '../../shared/adapters/taskQueue.ts';
import { deliverHintInProcess, TEST_SECRET, testConfig, testServices } from './testRuntime.ts';
import { COMPACTION_HINT_QUEUE, PUSH_SUBSCRIPTIONS } from '../../shared/runtime/resources.ts';
import { createAdapters, type Dependencies } from '../../shared/runtime/dependencies.ts';

export { TEST_SECRET };

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
  const config = testConfig({ ...process.env, ARCO_STORAGE_BUCKET: bucket });
  const adapters = createAdapters(config);
  const deps: Dependencies = { config, ...adapters, ...testServices(logSink), ...overrides };
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
      deliverHintInProcess(deps(), task.body);
      return { status: 'enqueued', name: task.name ?? 'hint' };
    },
    exists: (name, id) => queue.exists(name, id),
  };
}

export const testToken = (request: LocalTokenRequest) => mintLocalToken(TEST_SECRET, request);

export const bearer = async (request: LocalTokenRequest) => ({
  Authorization: `Bearer ${await testToken(request)}`,
});
