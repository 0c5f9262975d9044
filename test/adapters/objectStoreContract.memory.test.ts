import { describe, expect, it } from 'vitest';
import { InMemoryObjectStore } from '../../shared/adapters/inMemoryObjectStore.ts';
import { ObjectStoreRateLimitedError } from '../../shared/adapters/objectStore.ts';
import { describeObjectStoreContract } from './objectStore.contract.ts';

describeObjectStoreContract('InMemoryObjectStore', () => new InMemoryObjectStore());

describe('InMemoryObjectStore with the per-object rate limit on', () => {
  /** A store on a clock the test moves, limited as the GCS stand-in is by default (burst 5, then 1/s). */
  const limited = (retryBudgetMs = 0) => {
    const clock = { ms: 1_000_000 };
    const store = new InMemoryObjectStore({
      rateLimit: { perSecond: 1, burst: 5 },
      retryBudgetMs,
      now: () => clock.ms,
    });
    return { store, clock };
  };

  it('refuses the sixth unconditional write of one name at once, changing nothing', async () => {
    const { store } = limited();
    for (let i = 0; i < 5; i += 1) await store.put('hot.json', String(i));
    const refused = await store.put('hot.json', 'six').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ObjectStoreRateLimitedError);
    expect(refused).toMatchObject({
      code: 'rate_limited',
      key: 'hot.json',
      operation: 'put',
      retried: false,
    });
    expect((await store.get('hot.json'))?.bytes.toString()).toBe('4');
    // Other names and reads are not limited.
    expect((await store.put('cold.json', 'x')).status).toBe('written');
    await expect(store.delete('hot.json')).rejects.toMatchObject({
      code: 'rate_limited',
      operation: 'delete',
    });
  });

  it('refills one token per second, and a lost precondition spends none', async () => {
    const { store, clock } = limited();
    for (let i = 0; i < 5; i += 1) await store.put('hot.json', String(i));
    clock.ms += 1000;
    const { generation } = (await store.head('hot.json'))!;
    expect(await store.put('hot.json', 'stale', { ifGenerationMatch: 1 })).toEqual({
      status: 'precondition_failed',
    });
    expect((await store.put('hot.json', 'next', { ifGenerationMatch: generation })).status).toBe('written');
    await expect(store.put('hot.json', 'again')).rejects.toBeInstanceOf(ObjectStoreRateLimitedError);
  });

  it('lets a preconditioned write wait for the next token within its retry budget', async () => {
    // Real time here: the store sleeps until the token is due (a tenth of a second at 10/s).
    const store = new InMemoryObjectStore({ rateLimit: { perSecond: 10, burst: 1 }, retryBudgetMs: 5_000 });
    const first = await store.put('hot.json', 'first');
    const started = Date.now();
    const second = await store.put('hot.json', 'waited', {
      ifGenerationMatch: first.status === 'written' ? first.generation : 0,
    });
    expect(second.status).toBe('written');
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
  });

  it('gives up on a preconditioned write whose wait exceeds the budget', async () => {
    const { store } = limited(100);
    for (let i = 0; i < 5; i += 1) await store.put('hot.json', String(i));
    const { generation } = (await store.head('hot.json'))!;
    await expect(store.put('hot.json', 'x', { ifGenerationMatch: generation })).rejects.toMatchObject({
      code: 'rate_limited',
      operation: 'put',
      retried: false,
    });
  });
});
