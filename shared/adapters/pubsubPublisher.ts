import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { Publisher } from './publisher.ts';

/** Pub/Sub behind Publisher. Locally the client follows PUBSUB_EMULATOR_HOST. */
export class PubSubPublisher implements Publisher {
  private readonly topics = new Map<string, Topic>();

  constructor(private readonly pubsub: PubSub = new PubSub()) {}

  async publish(topic: string, data: object, attributes: Record<string, string> = {}): Promise<string> {
    let handle = this.topics.get(topic);
    if (!handle) {
      handle = this.pubsub.topic(topic, { batching: { maxMilliseconds: 10 } });
      this.topics.set(topic, handle);
    }
    return handle.publishMessage({ json: data, attributes });
  }
}
