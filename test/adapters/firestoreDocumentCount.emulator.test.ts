import { describe, expect, it } from 'vitest';
import { FirestoreDocumentStore } from '../../shared/adapters/firestoreDocumentStore.ts';
import { firestoreDocuments } from '../../shared/observability/metrics.ts';

async function documentCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = { read: 0, write: 0, delete: 0 };
  for (const { labels, value } of (await firestoreDocuments.get()).values)
    counts[String(labels.kind)] = value;
  return counts;
}

async function countedBy(work: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await documentCounts();
  await work();
  const after = await documentCounts();
  return Object.fromEntries(Object.keys(after).map((kind) => [kind, after[kind]! - (before[kind] ?? 0)]));
}

// Firestore bills documents, not calls: the bench's cost per task must see a batch of n writes as n.
describe('FirestoreDocumentStore counts the documents Firestore bills', () => {
  const store = new FirestoreDocumentStore();
  const collection = `documentCount/${Date.now()}/docs`;
  const paths = [0, 1, 2].map((i) => `${collection}/d${i}`);

  it('a batch of writes, a lookup, a query, a transaction and a batch delete', async () => {
    expect(await countedBy(() => store.setMany(paths.map((path, i) => ({ path, data: { i } }))))).toEqual({
      read: 0,
      write: 3,
      delete: 0,
    });
    expect(await countedBy(() => store.getMany([...paths, `${collection}/missing`]))).toEqual({
      read: 4,
      write: 0,
      delete: 0,
    });
    expect(await countedBy(() => store.query(collection))).toEqual({ read: 3, write: 0, delete: 0 });
    expect(await countedBy(() => store.query(`${collection}-empty`))).toEqual({
      read: 1,
      write: 0,
      delete: 0,
    });
    expect(
      await countedBy(() =>
        store.runTransaction(async (tx) => {
          await tx.get(paths[0]!);
          tx.set(paths[0]!, { i: 10 });
          tx.create(`${collection}/d3`, { i: 3 });
        }),
      ),
    ).toEqual({ read: 1, write: 2, delete: 0 });
    expect(await countedBy(() => store.deleteMany([...paths, `${collection}/d3`]))).toEqual({
      read: 0,
      write: 0,
      delete: 4,
    });
  });
});
