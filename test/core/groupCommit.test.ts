import { describe, expect, it } from 'vitest';
import { groupCommit } from '../../shared/core/groupCommit.ts';

describe('group commit', () => {
  it('sends the first call at once, groups the calls made meanwhile, and keeps keys apart', async () => {
    const sends: Array<[string, number[]]> = [];
    const releases: Array<() => void> = [];
    const commit = groupCommit<number>(
      async (key, items) => {
        sends.push([key, items]);
        await new Promise<void>((resolve) => releases.push(resolve));
      },
      (queue) => Math.min(queue.length, 2),
    );
    const calls = [commit('a', 1), commit('a', 2), commit('a', 3), commit('a', 4), commit('b', 9)];
    expect(sends).toEqual([
      ['a', [1]],
      ['b', [9]],
    ]);
    while (sends.length < 4 || releases.length) {
      releases.splice(0).forEach((release) => release());
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(calls);
    // At most two a group, in order.
    expect(sends.slice(2)).toEqual([
      ['a', [2, 3]],
      ['a', [4]],
    ]);
  });

  it('fails only the callers whose send failed', async () => {
    let failing = true;
    const commit = groupCommit<number>(async () => {
      if (failing) throw new Error('unavailable');
    });
    await expect(commit('k', 1)).rejects.toThrow('unavailable');
    failing = false;
    await expect(commit('k', 2)).resolves.toBeUndefined();
  });
});
