import { join } from 'node:path';
import { bootstrapLocalResources } from './bootstrap.ts';
import { freePort } from './emulators.ts';
import { type FunctionHost, startFunctionHost } from './functionHost.ts';
import {
  PUSH_SUBSCRIPTIONS,
  type PushSubscription,
  TASK_QUEUES,
  TOPICS,
} from '../shared/runtime/resources.ts';

export interface HostOnEmulatorsOptions {
  bucket: string;
  secret: string;
  pushToken: string;
  pushSubscriptions?: readonly PushSubscription[];
  /** Each function in a process of its own, as on `npm start` (see FunctionHostOptions). */
  processes?: boolean;
}

/** The example worker (user code, not one of our functions), served by the host under `/worker`. */
export const EXAMPLE_WORKER_MOUNT = {
  '/worker': { module: join(import.meta.dirname, '..', 'examples', 'worker', 'index.ts'), target: 'worker' },
};

/**
 * Every function on a free port against already running emulators, with the project's bucket, topics,
 * push subscriptions and queues, and the example worker under `/worker`: what tests and benchmarks need
 * of `npm start` without its processes. The functions read their configuration from the environment
 * when the host imports them.
 */
export async function startHostOnEmulators(options: HostOnEmulatorsOptions): Promise<FunctionHost> {
  const port = await freePort();
  Object.assign(process.env, {
    ARCO_LOCAL_SECRET: options.secret,
    ARCO_STORAGE_BUCKET: options.bucket,
    ARCO_LOCAL_STACK: '1',
    ARCO_PUSH_TOKEN: options.pushToken,
    ARCO_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
  });
  const host = await startFunctionHost({
    port,
    mounts: EXAMPLE_WORKER_MOUNT,
    ...(options.processes ? { processes: true } : {}),
  });
  await bootstrapLocalResources({
    project: process.env.GOOGLE_CLOUD_PROJECT!,
    location: process.env.ARCO_LOCATION ?? 'us-central1',
    bucket: options.bucket,
    hostUrl: host.url,
    topics: TOPICS,
    pushSubscriptions: options.pushSubscriptions ?? PUSH_SUBSCRIPTIONS,
    queues: TASK_QUEUES,
    pushToken: options.pushToken,
  });
  return host;
}
