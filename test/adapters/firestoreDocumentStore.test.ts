import { describe, expect, it } from 'vitest';
import { FirestoreDocumentStore } from '../../shared/adapters/firestoreDocumentStore.ts';
import { uniqueName } from '../support/testDependencies.ts';

describe('FirestoreDocumentStore on the Firestore emulator', () => {
  const store = new FirestoreDocumentStore();

  it('creates a document once and reports the second create as already_exists', async () => {
    const path = `tests/${uniqueName('doc')}`;
    expect(await store.create(path, { n: 1 })).toEqual({ status: 'created' });
    expect(await store.create(path, { n: 2 })).toEqual({ status: 'already_exists' });
    expect((await store.get<{ n: number }>(path))?.data).toEqual({ n: 1 });
  });

  it('serialises concurrent read-modify-write transactions without losing an update', async () => {
    const path = `tests/${uniqueName('counter')}`;
    await store.set(path, { n: 0 });
    await Promise.all(
      Array.from({ length: 4 }, () =>
        store.runTransaction(async (tx) => {
          const current = await tx.get<{ n: number }>(path);
          tx.set(path, { n: (current?.data.n ?? 0) + 1 });
        }),
      ),
    );
    expect((await store.get<{ n: number }>(path))?.data.n).toBe(4);
  });

  it('compare-and-sets on the update time: exactly one of two writers at the same version wins', async () => {
    const path = `tests/${uniqueName('cas')}`;
    expect(await store.compareAndSet(path, { v: 1 }, null)).toEqual({ status: 'written' });
    expect(await store.compareAndSet(path, { v: 1 }, null)).toEqual({ status: 'precondition_failed' });
    const seen = (await store.getVersioned<{ v: number }>(path))!;
    const results = await Promise.all([
      store.compareAndSet(path, { v: 2 }, seen.version),
      store.compareAndSet(path, { v: 3 }, seen.version),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['precondition_failed', 'written']);
    const after = (await store.getVersioned<{ v: number }>(path))!;
    expect([2, 3]).toContain(after.data.v);
    expect(after.version).not.toBe(seen.version);
    expect(await store.compareAndSet(`tests/${uniqueName('gone')}`, { v: 1 }, seen.version)).toEqual({
      status: 'precondition_failed',
    });
  });

  it('queries with filters, order and limits, and counts', async () => {
    const collection = `tests/${uniqueName('q')}/items`;
    for (const [i, kind] of ['a', 'b', 'a', 'a'].entries())
      await store.set(`${collection}/${i}`, { i, kind });
    const rows = await store.query<{ i: number }>(collection, {
      where: [['kind', '==', 'a']],
      orderBy: [['i', 'desc']],
      limit: 2,
    });
    expect(rows.map((r) => r.data.i)).toEqual([3, 2]);
    expect(await store.count(collection, { where: [['kind', '==', 'a']] })).toBe(3);
  });
});
