import { CloudTasksClient } from '@google-cloud/tasks';
import { credentials } from '@grpc/grpc-js';
import type { EnqueueResult, TaskQueue, TaskRequest } from './taskQueue.ts';

const ALREADY_EXISTS = 6;

/** CLOUD_TASKS_EMULATOR_HOST is this project's convention (the client has none) for the local stand-in. */
export function cloudTasksClient(emulatorHost = process.env.CLOUD_TASKS_EMULATOR_HOST): CloudTasksClient {
  if (!emulatorHost) return new CloudTasksClient();
  const [host, port] = emulatorHost.split(':');
  return new CloudTasksClient({
    servicePath: host,
    port: Number(port),
    sslCreds: credentials.createInsecure(),
  });
}

/** Cloud Tasks behind TaskQueue, with HTTP targets. */
export class CloudTasksQueue implements TaskQueue {
  constructor(
    private readonly project: string,
    private readonly location: string,
    private readonly client: CloudTasksClient = cloudTasksClient(),
  ) {}

  queuePath(queue: string) {
    return this.client.queuePath(this.project, this.location, queue);
  }

  async enqueue(task: TaskRequest): Promise<EnqueueResult> {
    const parent = this.queuePath(task.queue);
    const name = task.name ? `${parent}/tasks/${task.name}` : undefined;
    try {
      const [created] = await this.client.createTask({
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
}
