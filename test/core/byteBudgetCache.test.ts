import { describe, expect, it } from 'vitest';
import { ByteBudgetCache } from '../../shared/core/byteBudgetCache.ts';

/** A loader that counts its calls and reports `bytes` for every value. */
function counted(bytes: number) {
  const calls: string[] = [];
  const load = (key: string) => () => {
    calls.push(key);
    return Promise.resolve({ value: `value of ${key}`, bytes });
  };
  return { calls, load };
}

/** A loader that resolves only when released, and counts how often it was called. */
function gated(value: string, bytes: number) {
  const gate = { loads: 0, release: () => {} };
  const load = () => {
    gate.loads += 1;
    return new Promise<{ value: string; bytes: number }>((resolve) => {
      gate.release = () => resolve({ value, bytes });
    });
  };
  return { gate, load };
}

describe('byte-budget cache', () => {
  it('keeps values within the byte budget, evicting the least recently used first', async () => {
    const cache = new ByteBudgetCache<string>(300);
    const { calls, load } = counted(100);
    for (const key of ['a', 'b', 'c']) await cache.get(key, load(key));
    // Using `a` makes `b` the least recently used, so `d` pushes `b` out.
    expect(await cache.get('a', load('a'))).toBe('value of a');
    await cache.get('d', load('d'));
    expect(cache.size).toEqual({ bytes: 300, entries: 3 });
    await cache.get('a', load('a'));
    await cache.get('c', load('c'));
    await cache.get('d', load('d'));
    expect(calls).toEqual(['a', 'b', 'c', 'd']);
    await cache.get('b', load('b'));
    expect(calls).toEqual(['a', 'b', 'c', 'd', 'b']);
    expect(cache.size.bytes).toBe(300);
  });

  it('shares one load among concurrent callers of a key', async () => {
    const cache = new ByteBudgetCache<string>(1000);
    const { gate, load } = gated('shared', 10);
    const both = Promise.all([cache.get('k', load), cache.get('k', load)]);
    gate.release();
    expect(await both).toEqual(['shared', 'shared']);
    expect(gate.loads).toBe(1);
  });

  it('does not keep a failed load: the next caller loads again', async () => {
    const cache = new ByteBudgetCache<string>(1000);
    await expect(cache.get('k', () => Promise.reject(new Error('unavailable')))).rejects.toThrow(
      'unavailable',
    );
    expect(cache.size).toEqual({ bytes: 0, entries: 0 });
    expect(await cache.get('k', () => Promise.resolve({ value: 'loaded', bytes: 5 }))).toBe('loaded');
  });

  it('returns a value larger than the whole budget without keeping it or pushing anything out', async () => {
    const cache = new ByteBudgetCache<string>(100);
    const { calls, load } = counted(60);
    await cache.get('small', load('small'));
    expect(await cache.get('huge', () => Promise.resolve({ value: 'huge', bytes: 500 }))).toBe('huge');
    expect(cache.size).toEqual({ bytes: 60, entries: 1 });
    await cache.get('small', load('small'));
    expect(calls).toEqual(['small']);
  });

  it('never evicts a load in flight: its later callers still share it, and it is kept once loaded', async () => {
    const cache = new ByteBudgetCache<string>(100);
    const { gate, load: slow } = gated('slow', 30);
    const first = cache.get('slow', slow);
    const { load } = counted(60);
    // Two loaded values over the budget: the older goes, the one still loading stays.
    await cache.get('a', load('a'));
    await cache.get('b', load('b'));
    const second = cache.get('slow', slow);
    gate.release();
    expect(await Promise.all([first, second])).toEqual(['slow', 'slow']);
    expect(gate.loads).toBe(1);
    expect(cache.size).toEqual({ bytes: 90, entries: 2 });
  });
});
