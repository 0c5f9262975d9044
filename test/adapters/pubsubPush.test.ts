import { type CloudEvent, cloudEvent } from '@google-cloud/functions-framework';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapLocalResources } from '../../local/bootstrap.ts';
import { freePort } from '../../local/emulators.ts';
import { type FunctionHost, startFunctionHost } from '../../local/functionHost.ts';
import { PubSubPublisher } from '../../shared/adapters/pubsubPublisher.ts';
import { createTestBucket, TEST_SECRET, uniqueName } from '../support/testDependencies.ts';

interface Received {
  source: string;
  data: unknown;
  attributes: Record<string, string>;
}

describe('Pub/Sub emulator push subscriptions into the function host', () => {
  const received: Received[] = [];
  let host: FunctionHost | undefined;
  afterAll(() => host?.close());

  it('delivers a published message as a CloudEvent to the target named in the push endpoint', async () => {
    // The api target builds its dependencies from the environment when the host imports it.
    process.env.ARCO_LOCAL_SECRET = TEST_SECRET;
    process.env.ARCO_STORAGE_BUCKET = await createTestBucket();
    type PushMessage = { message: { data: string; attributes?: Record<string, string> } };
    cloudEvent<PushMessage>('pushprobe', (event: CloudEvent<PushMessage>) => {
      received.push({
        source: String(event.source),
        data: JSON.parse(Buffer.from(event.data!.message.data, 'base64').toString()),
        attributes: event.data!.message.attributes ?? {},
      });
    });
    host = await startFunctionHost({ port: await freePort() });
    const project = process.env.GOOGLE_CLOUD_PROJECT!;
    const topic = uniqueName('topic');
    await bootstrapLocalResources({
      project,
      location: 'us-central1',
      bucket: await createTestBucket(),
      hostUrl: host.url,
      topics: [],
      pushSubscriptions: [{ topic, subscription: `${topic}-push`, target: 'pushprobe' }],
      queues: [],
    });
    await new PubSubPublisher(new PubSub({ projectId: project })).publish(topic, { n: 1 }, { kind: 'probe' });
    const deadline = Date.now() + 15_000;
    while (!received.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(received[0]).toMatchObject({ data: { n: 1 }, attributes: { kind: 'probe' } });
    expect(received[0]!.source).toContain(`topics/${topic}`);
  });
});
