import { EVENTARC_PREFIX } from './functionHost.ts';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import type { CloudTasksClient } from '@google-cloud/tasks';
import { cloudTasksClient } from '../shared/adapters/cloudTasksQueue.ts';
import {
  PUSH_SUBSCRIPTIONS,
  type PushSubscription,
  TASK_QUEUES,
  TOPICS,
} from '../shared/runtime/resources.ts';

const ALREADY_EXISTS = 6;
const ignoreExisting = (error: unknown) => {
  const code = (error as { code?: number }).code;
  if (code !== ALREADY_EXISTS && code !== 409) throw error;
};

export interface LocalResources {
  project: string;
  location: string;
  bucket: string;
  /** The function host's URL, where push subscriptions and task targets point. */
  hostUrl: string;
  topics?: readonly string[];
  pushSubscriptions?: readonly PushSubscription[];
  queues?: readonly string[];
  /** Appended to push URLs that reach an HTTP route, since the emulator presents no identity. */
  pushToken?: string;
}

/** Creates what terraform creates in GCP: the bucket, topics, push subscriptions and queues. */
export async function bootstrapLocalResources(resources: LocalResources, client?: CloudTasksClient) {
  const tasks = client ?? (await cloudTasksClient());
  const storage = new Storage({ projectId: resources.project });
  await storage.createBucket(resources.bucket).catch(ignoreExisting);
  const pubsub = new PubSub({ projectId: resources.project });
  const pushes = resources.pushSubscriptions ?? PUSH_SUBSCRIPTIONS;
  for (const topic of new Set([...(resources.topics ?? TOPICS), ...pushes.map((p) => p.topic)]))
    await pubsub.createTopic(topic).catch(ignoreExisting);
  for (const push of pushes) {
    // The Functions Framework turns a push to /projects/P/topics/T into a CloudEvent whose source names T.
    // An HTTP route is reached through the gateway document's routing; a CloudEvent function through
    // the host's Eventarc path, as Eventarc delivers to the function itself.
    const pushEndpoint = push.path
      ? `${resources.hostUrl}${push.path}?token=${resources.pushToken ?? ''}`
      : `${resources.hostUrl}${EVENTARC_PREFIX}/${push.target}/projects/${resources.project}/topics/${push.topic}`;
    await pubsub
      .topic(push.topic)
      .createSubscription(push.subscription, { pushConfig: { pushEndpoint }, ackDeadlineSeconds: 60 })
      .catch(ignoreExisting);
  }
  const parent = tasks.locationPath(resources.project, resources.location);
  for (const queue of resources.queues ?? TASK_QUEUES) {
    await tasks
      .createQueue({
        parent,
        queue: {
          name: tasks.queuePath(resources.project, resources.location, queue),
          retryConfig: {
            maxAttempts: 100,
            minBackoff: { seconds: 1 },
            maxBackoff: { seconds: 60 },
            maxDoublings: 5,
          },
        },
      })
      .catch(ignoreExisting);
  }
  await pubsub.close();
}
