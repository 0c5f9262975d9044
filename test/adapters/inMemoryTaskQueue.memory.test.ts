import { describe, expect, it } from 'vitest';
import { InMemoryTaskQueue, type RecordedTask } from '../../shared/adapters/inMemoryTaskQueue.ts';

describe('InMemoryTaskQueue', () => {
  it('records tasks, refuses a name used twice in one queue, and names unnamed tasks itself', async () => {
    const delivered: RecordedTask[] = [];
    const queue = new InMemoryTaskQueue({ onEnqueue: (task) => void delivered.push(task) });
    const body = { run: 'r1', nested: { at: 1 } };
    const task = { queue: 'dispatch', name: 'd-1', url: 'http://x/run', body };
    expect(await queue.enqueue(task)).toEqual({ status: 'enqueued', name: 'dispatch/tasks/d-1' });
    body.nested.at = 2;
    expect(await queue.enqueue({ ...task, body: { other: true } })).toEqual({
      status: 'already_exists',
      name: 'dispatch/tasks/d-1',
    });
    expect((await queue.enqueue({ ...task, queue: 'timers' })).status).toBe('enqueued');
    const unnamed = await queue.enqueue({ queue: 'dispatch', url: 'http://x/hint', body: {} });
    expect(unnamed.status).toBe('enqueued');
    expect(queue.tasks.map((t) => t.fullName)).toEqual([
      'dispatch/tasks/d-1',
      'timers/tasks/d-1',
      unnamed.name,
    ]);
    expect(queue.tasksOf('dispatch')[0]?.body).toEqual({ run: 'r1', nested: { at: 1 } });
    expect(delivered).toHaveLength(3);
    expect(await queue.exists('dispatch', 'd-1')).toBe(true);
    expect(await queue.exists('timers', 'd-2')).toBe(false);
    queue.clear();
    expect(queue.tasks).toEqual([]);
    expect(await queue.exists('dispatch', 'd-1')).toBe(false);
    expect((await queue.enqueue(task)).status).toBe('enqueued');
  });
});
