import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bootstrapLocalResources } from '../../local/bootstrap.ts';
import { CloudTasksQueue } from '../../shared/adapters/cloudTasksQueue.ts';
import { startRecordingServer } from '../support/recordingServer.ts';
import { createTestBucket, uniqueName } from '../support/testDependencies.ts';

describe('CloudTasksQueue against the stand-in', () => {
  const project = process.env.GOOGLE_CLOUD_PROJECT!;
  const queueName = uniqueName('q');
  let target: Awaited<ReturnType<typeof startRecordingServer>>;
  beforeAll(async () => {
    target = await startRecordingServer();
    await bootstrapLocalResources({
      project,
      location: 'us-central1',
      bucket: await createTestBucket(),
      hostUrl: target.url,
      topics: [],
      pushSubscriptions: [],
      queues: [queueName],
    });
  });
  afterAll(() => target.close());

  it('delivers a JSON body to the target and reports a duplicate name as already_exists', async () => {
    const queue = new CloudTasksQueue(project, 'us-central1');
    const request = {
      queue: queueName,
      name: 'dispatch-1',
      url: `${target.url}/work`,
      body: { hello: 'world' },
    };
    expect((await queue.enqueue(request)).status).toBe('enqueued');
    expect((await queue.enqueue(request)).status).toBe('already_exists');
    const [delivered] = await target.waitFor(1);
    expect(JSON.parse(delivered!.body)).toEqual({ hello: 'world' });
    expect(delivered!.headers['content-type']).toBe('application/json');
    // Delivered with a 2xx, the task leaves the queue; its name stays taken.
    await vi.waitFor(async () => expect(await queue.exists(queueName, 'dispatch-1')).toBe(false));
    expect((await queue.enqueue(request)).status).toBe('already_exists');
    expect(await queue.exists(queueName, 'never-created')).toBe(false);
    const later = { ...request, name: 'dispatch-later', scheduleTime: new Date(Date.now() + 3_600_000) };
    expect((await queue.enqueue(later)).status).toBe('enqueued');
    expect(await queue.exists(queueName, 'dispatch-later')).toBe(true);
  });
});
