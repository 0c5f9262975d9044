import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionHost } from '../../local/functionHost.ts';
import { startHostOnEmulators } from '../../local/hostOnEmulators.ts';
import { hostClient } from '../support/hostClient.ts';
import {
  createTestBucket,
  TEST_SECRET,
  testPushSubscriptions,
  uniqueName,
} from '../support/testDependencies.ts';

interface Run {
  state: string;
  tasks: Array<{
    taskKey: string;
    state: string;
    attempt: number;
    manualRetries?: number;
    failureClass?: string;
    retryCategory?: string;
  }>;
}

/** Category A in place (pipeline-ops §3.4): the failed run comes back under the same run id. */
describe('in-place retry of a failed run', () => {
  let host: FunctionHost;
  beforeAll(async () => {
    host = await startHostOnEmulators({
      bucket: await createTestBucket(),
      secret: TEST_SECRET,
      pushToken: 'push',
      pushSubscriptions: testPushSubscriptions(),
    });
  });
  afterAll(() => host?.close());

  it('reopens the failed task and the tasks it skipped, refuses category C without an acknowledged fix, and replaces the step manifest', async () => {
    const w = await hostClient(host, { tenant: 'acme', workspace: uniqueName('retry') });
    await w.call('POST', `${w.ws}/manifests`, {
      codeVersionId: 'v1',
      workerUrl: `${host.url}/worker`,
      retryPolicy: { maxAttempts: 1, initialBackoffSeconds: 1, maxBackoffSeconds: 1 },
      assets: [
        {
          key: 'raw.feed',
          payload: {
            failUntilAttempt: 1,
            failWith: { message: 'ECONNRESET while fetching feeds.example.com' },
          },
        },
        { key: 'mart.report', dependencies: [{ upstreamKey: 'raw.feed' }] },
        {
          key: 'raw.bad',
          payload: { failUntilAttempt: 99, failWith: { message: 'missing required columns [amount]' } },
        },
      ],
    });
    const read = (runId: string) =>
      w.until(
        async () => (await w.call<Run>('GET', `${w.ws}/runs/${runId}`)).body,
        (r) => ['SUCCEEDED', 'FAILED'].includes(r.state),
        30_000,
      );
    const { runId } = (
      await w.call<{ runId: string }>('POST', `${w.ws}/runs`, {
        selection: ['raw.feed'],
        includeDownstream: true,
      })
    ).body;
    const failed = await read(runId);
    expect(failed.state).toBe('FAILED');
    expect(failed.tasks.find((t) => t.taskKey === 'raw.feed')).toMatchObject({
      state: 'FAILED',
      attempt: 1,
      failureClass: 'TRANSIENT_NETWORK',
      retryCategory: 'A',
    });
    expect(failed.tasks.find((t) => t.taskKey === 'mart.report')).toMatchObject({ state: 'SKIPPED' });

    const retried = await w.call<{ state: string; retriedTaskKeys: string[] }>(
      'POST',
      `${w.ws}/runs/${runId}/retry`,
      {},
    );
    // The answer reads the run after the retry was published; an instant worker may have finished it.
    expect(retried.body).toMatchObject({ retriedTaskKeys: ['raw.feed'] });
    expect(['RUNNING', 'SUCCEEDED']).toContain(retried.body.state);
    const recovered = await read(runId);
    expect(recovered.state).toBe('SUCCEEDED');
    expect(recovered.tasks.find((t) => t.taskKey === 'raw.feed')).toMatchObject({
      state: 'SUCCEEDED',
      attempt: 2,
      manualRetries: 1,
    });
    expect(recovered.tasks.find((t) => t.taskKey === 'mart.report')).toMatchObject({
      state: 'SUCCEEDED',
      attempt: 1,
    });
    expect((await w.call('POST', `${w.ws}/runs/${runId}/retry`, {})).body).toMatchObject({
      details: { reason: 'run_not_failed' },
    });
    const manifests = await w.until(
      async () =>
        (
          await w.call<{ manifests: Array<{ taskKey: string; status?: string }>; missing: string[] }>(
            'GET',
            `${w.ws}/runs/${runId}/manifests`,
          )
        ).body,
      (m) => m.manifests.every((e) => e.status === 'success'),
      10_000,
    );
    expect(manifests.missing).toEqual([]);
    const step = await w.call('GET', `${w.ws}/manifests/step?assetKey=raw.feed&runId=${runId}`);
    expect(step.body).toMatchObject({ attempt: 2, status: 'success', retry: { manualRetries: 1 } });
    expect(
      (await w.call('GET', `${w.ws}/manifests/step?assetKey=raw.feed&runId=${runId}&attempt=1`)).body,
    ).toMatchObject({ status: 'failed', error: { failureClass: 'TRANSIENT_NETWORK' } });

    const bad = (await w.call<{ runId: string }>('POST', `${w.ws}/runs`, { selection: ['raw.bad'] })).body
      .runId;
    expect((await read(bad)).tasks[0]).toMatchObject({
      failureClass: 'CONTRACT_VIOLATION',
      retryCategory: 'C',
    });
    expect((await w.call('POST', `${w.ws}/runs/${bad}/retry`, {})).body).toMatchObject({
      details: { reason: 'cause_not_acknowledged' },
    });
    expect((await w.call('POST', `${w.ws}/runs/${bad}/retry`, { causeFixed: true })).status).toBe(400);
    // Accepted; the step fails again at once (its input is still bad), which a published read may show.
    const acknowledged = await w.call<{ retriedTaskKeys: string[] }>('POST', `${w.ws}/runs/${bad}/retry`, {
      causeFixed: true,
      reason: 'column restored upstream',
    });
    expect(acknowledged.status).toBe(200);
    expect(acknowledged.body.retriedTaskKeys).toEqual(['raw.bad']);
  });
});
