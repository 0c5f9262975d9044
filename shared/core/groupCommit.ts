import { detachedFromRequest } from '../runtime/detachedFromRequest.ts';

/**
 * Group commit (the database technique): the first call for a key is sent at once; calls for the key
 * made while that send is in flight wait and then go together in the next send, as many as `groupSize`
 * allows. When idle it adds no wait; under load, one round trip carries many callers. Each caller's
 * promise settles with the send that carried its item.
 *
 * `send(key, items)` performs one round trip; `groupSize(queue)` says how many items from the head of
 * the waiting queue (at least one) the next send takes.
 */
export function groupCommit<T>(
  send: (key: string, items: T[]) => Promise<void>,
  groupSize: (queue: readonly T[]) => number = (queue) => queue.length,
): (key: string, item: T) => Promise<void> {
  interface Waiting {
    item: T;
    resolve: () => void;
    reject: (error: unknown) => void;
  }
  const queues = new Map<string, Waiting[]>();
  const pump = async (key: string, queue: Waiting[]) => {
    while (queue.length) {
      const count = Math.max(1, groupSize(queue.map((w) => w.item)));
      const group = queue.splice(0, count);
      try {
        await send(
          key,
          group.map((w) => w.item),
        );
        for (const w of group) w.resolve();
      } catch (error) {
        for (const w of group) w.reject(error);
      }
    }
    queues.delete(key);
  };
  return (key, item) =>
    new Promise<void>((resolve, reject) => {
      const queue = queues.get(key);
      if (queue) return void queue.push({ item, resolve, reject });
      const fresh = [{ item, resolve, reject }];
      queues.set(key, fresh);
      void detachedFromRequest(() => pump(key, fresh));
    });
}
