/**
 * Work handed to another function over HTTP, at most once per task name: a duplicate name is refused by
 * the queue, which is how Arco deduplicates dispatches and timers (orchestration spec §19).
 */
export interface TaskRequest {
  queue: string;
  /** Short task id; the queue refuses a second task with the same id while it is remembered. */
  name?: string;
  url: string;
  body: unknown;
  headers?: Record<string, string>;
  scheduleTime?: Date;
  /** Service account whose OIDC identity the queue presents to the target. */
  oidcServiceAccount?: string;
}

export type EnqueueResult = { status: 'enqueued'; name: string } | { status: 'already_exists'; name: string };

export interface TaskQueue {
  enqueue(task: TaskRequest): Promise<EnqueueResult>;
  /**
   * Whether the queue still holds the task `name` (short id) of `queue`: waiting, retrying or being
   * delivered. False once it was delivered with a 2xx, gave up or was deleted (Cloud Tasks `GetTask`
   * answers NOT_FOUND then). Throws on any other failure.
   */
  exists(queue: string, name: string): Promise<boolean>;
}
