import { describe, expect, it } from 'vitest';
import {
  InMemoryDocumentStore,
  InMemoryTransactionAbortedError,
} from '../../shared/adapters/inMemoryDocumentStore.ts';
import { describeDocumentStoreContract } from './documentStore.contract.ts';

describeDocumentStoreContract('InMemoryDocumentStore', () => new InMemoryDocumentStore());

describe('InMemoryDocumentStore beyond the contract', () => {
  it('retries a transaction whose read changed before it committed, and gives up after 5 attempts', async () => {
    const store = new InMemoryDocumentStore();
    await store.set('c/x', { n: 0 });
    let attempts = 0;
    // Every attempt is overtaken by an outside write between its read and its commit.
    const never = store.runTransaction(async (tx) => {
      attempts += 1;
      const current = await tx.get<{ n: number }>('c/x');
      await store.set('c/x', { n: (current?.data.n ?? 0) + 100 });
      tx.set('c/x', { n: -1 });
    });
    await expect(never).rejects.toBeInstanceOf(InMemoryTransactionAbortedError);
    await expect(never).rejects.toMatchObject({ code: 10 });
    expect(attempts).toBe(5);
    expect((await store.get('c/x'))?.data).toEqual({ n: 500 });

    let tries = 0;
    const result = await store.runTransaction(async (tx) => {
      tries += 1;
      const current = await tx.get<{ n: number }>('c/x');
      if (tries === 1) await store.set('c/x', { n: 1000 });
      tx.set('c/x', { n: current!.data.n + 1 });
      return current!.data.n;
    });
    expect([tries, result]).toEqual([2, 1000]);
    expect((await store.get('c/x'))?.data).toEqual({ n: 1001 });
  });

  it('refuses a transaction read started while another is in flight, as the emulator cannot serve it', async () => {
    const store = new InMemoryDocumentStore();
    let attempts = 0;
    await expect(
      store.runTransaction(async (tx) => {
        attempts += 1;
        await Promise.all([tx.get('c/a'), tx.get('c/b')]);
        tx.set('c/a', { n: 1 });
      }),
    ).rejects.toThrow(/getMany/);
    expect(attempts).toBe(1);
    expect(await store.get('c/a')).toBeNull();
  });

  it('refuses a Date, which Firestore would hand back as a Timestamp this store does not model', async () => {
    const store = new InMemoryDocumentStore();
    await expect(store.set('v/2', { at: new Date() })).rejects.toThrow(/Timestamp/);
  });
});
