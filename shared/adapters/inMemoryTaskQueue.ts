import type { EnqueueResult, TaskQueue, TaskRequest } from './taskQueue.ts';

/** A task the in-memory queue accepted: the request as the target would receive it, and its full name. */
export interface RecordedTask extends TaskRequest {
  /** `{queue}/tasks/{id}`, the id being the request's name or one the queue minted. */
  fullName: string;
}

/** Hooks of an InMemoryTaskQueue; without them it only records. */
export interface InMemoryTaskQueueOptions {
  /**
   * Called with each accepted task after it is recorded, e.g. to route some queues in-process as a
   * push would deliver them. Its errors are the caller's: the task stays recorded, as Cloud Tasks keeps a
   * task whose delivery failed.
   */
  onEnqueue?: (task: RecordedTask) => void | Promise<void>;
}

/**
 * TaskQueue in process memory: records every accepted task and delivers nothing. As Cloud Tasks does
 * (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks/create), it refuses
 * a second task with a name already used in the same queue (`already_exists`, Cloud Tasks' ALREADY_EXISTS),
 * which is how Arco deduplicates dispatches; Cloud Tasks forgets a name some time after the task ran or
 * was deleted, this queue only on `clear()`. The body is copied through JSON, as the HTTP request carries it.
 */
export class InMemoryTaskQueue implements TaskQueue {
  private readonly recorded: RecordedTask[] = [];
  private readonly names = new Set<string>();
  private minted = 0;

  constructor(private readonly options: InMemoryTaskQueueOptions = {}) {}

  /** Every accepted task, oldest first (a copy of the list; tasks are shared). */
  get tasks(): readonly RecordedTask[] {
    return [...this.recorded];
  }

  /** The accepted tasks of one queue, oldest first. */
  tasksOf(queue: string): RecordedTask[] {
    return this.recorded.filter((task) => task.queue === queue);
  }

  /** Forgets every task and name, so names may be used again. */
  clear(): void {
    this.recorded.length = 0;
    this.names.clear();
  }

  async enqueue(task: TaskRequest): Promise<EnqueueResult> {
    await Promise.resolve();
    let id = task.name;
    // Cloud Tasks names an unnamed task itself; a minted id must not take a name a caller may use later.
    while (id === undefined || (!task.name && this.names.has(`${task.queue}/tasks/${id}`)))
      id = `auto-${(this.minted += 1)}`;
    const fullName = `${task.queue}/tasks/${id}`;
    if (this.names.has(fullName)) return { status: 'already_exists', name: fullName };
    this.names.add(fullName);
    const recorded: RecordedTask = {
      ...task,
      body: task.body === undefined ? undefined : (JSON.parse(JSON.stringify(task.body)) as unknown),
      ...(task.headers ? { headers: { ...task.headers } } : {}),
      ...(task.scheduleTime ? { scheduleTime: new Date(task.scheduleTime) } : {}),
      fullName,
    };
    this.recorded.push(recorded);
    await this.options.onEnqueue?.(recorded);
    return { status: 'enqueued', name: fullName };
  }

  /** True for every task accepted since the last `clear()`: this queue delivers nothing, so none leaves it. */
  async exists(queue: string, name: string): Promise<boolean> {
    await Promise.resolve();
    return this.names.has(`${queue}/tasks/${name}`);
  }
}
