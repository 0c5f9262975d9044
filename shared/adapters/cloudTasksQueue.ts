import type { CloudTasksClient } from '@google-cloud/tasks';
import type { EnqueueResult, TaskQueue, TaskRequest } from './taskQueue.ts';

const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;

/**
 * A Cloud Tasks client; CLOUD_TASKS_EMULATOR_HOST (`host:port`, this project's convention: the client
 * has none) points it at the local stand-in over plaintext gRPC. The client library is loaded on first
 * use, so a function that never enqueues never pays its import at cold start.
 */
export async function cloudTasksClient(
  emulatorHost = process.env.CLOUD_TASKS_EMULATOR_HOST,
): Promise<CloudTasksClient> {
  const { CloudTasksClient } = await import('@google-cloud/tasks');
  if (!emulatorHost) return new CloudTasksClient();
  const { credentials } = await import('@grpc/grpc-js');
  const [host, port] = emulatorHost.split(':');
  return new CloudTasksClient({
    servicePath: host,
    port: Number(port),
    sslCreds: credentials.createInsecure(),
  });
}

/** Cloud Tasks behind TaskQueue, with HTTP targets. */
export class CloudTasksQueue implements TaskQueue {
  private client: Promise<CloudTasksClient> | undefined;

  constructor(
    private readonly project: string,
    private readonly location: string,
    client?: CloudTasksClient,
  ) {
    if (client) this.client = Promise.resolve(client);
  }

  async enqueue(task: TaskRequest): Promise<EnqueueResult> {
    this.client ??= cloudTasksClient();
    const client = await this.client;
    const parent = client.queuePath(this.project, this.location, task.queue);
    const name = task.name ? `${parent}/tasks/${task.name}` : undefined;
    try {
      const [created] = await client.createTask({
        parent,
        task: {
          ...(name ? { name } : {}),
          ...(task.scheduleTime
            ? { scheduleTime: { seconds: Math.floor(task.scheduleTime.getTime() / 1000), nanos: 0 } }
            : {}),
          httpRequest: {
            url: task.url,
            httpMethod: 'POST',
            headers: { 'content-type': 'application/json', ...task.headers },
            body: Buffer.from(JSON.stringify(task.body)),
            ...(task.oidcServiceAccount
              ? {
                  oidcToken: {
                    serviceAccountEmail: task.oidcServiceAccount,
                    audience: new URL(task.url).origin,
                  },
                }
              : {}),
          },
        },
      });
      return { status: 'enqueued', name: String(created.name) };
    } catch (error) {
      if ((error as { code?: number }).code === ALREADY_EXISTS)
        return { status: 'already_exists', name: name ?? '' };
      throw error;
    }
  }

  async exists(queue: string, name: string): Promise<boolean> {
    this.client ??= cloudTasksClient();
    const client = await this.client;
    try {
      await client.getTask({ name: client.taskPath(this.project, this.location, queue, name) });
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === NOT_FOUND) return false;
      throw error;
    }
  }
}
