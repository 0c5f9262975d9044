import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DocumentStore } from '../../shared/adapters/documentStore.ts';

const unique = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;

/**
 * The behaviour every DocumentStore must have, as Arco relies on it (shared/adapters/documentStore.ts),
 * with Firestore as the reference (https://firebase.google.com/docs/firestore/manage-data/transactions,
 * https://firebase.google.com/docs/firestore/query-data/queries). Registers one `describe` block named
 * `DocumentStore contract: {name}`; `makeStore` is called once for the block. Every test works under paths
 * (and collection-group ids) of its own, so the store may be shared with other tests, e.g. one Firestore
 * emulator project per worker.
 */
export function describeDocumentStoreContract(
  name: string,
  makeStore: () => DocumentStore | Promise<DocumentStore>,
) {
  describe(`DocumentStore contract: ${name}`, () => {
    let store: DocumentStore;
    let root: string;
    beforeAll(async () => {
      store = await makeStore();
    });
    const doc = (id: string) => `${root}/${id}`;
    const fresh = () => (root = `contract/${unique('t')}/docs`);

    it('creates a document once and reports the second create as already_exists', async () => {
      fresh();
      expect(await store.create(doc('a'), { n: 1 })).toEqual({ status: 'created' });
      expect(await store.create(doc('a'), { n: 2 })).toEqual({ status: 'already_exists' });
      expect(await store.get(doc('a'))).toEqual({ path: doc('a'), data: { n: 1 } });
    });

    it('reads null for an absent document, replaces on set, and deletes idempotently', async () => {
      fresh();
      expect(await store.get(doc('x'))).toBeNull();
      expect(await store.getVersioned(doc('x'))).toBeNull();
      await store.set(doc('x'), { a: 1, nested: { b: [1, 'two', null, true] } });
      expect((await store.get(doc('x')))?.data).toEqual({ a: 1, nested: { b: [1, 'two', null, true] } });
      // set replaces the whole document: fields it does not name are gone.
      await store.set(doc('x'), { c: 3 });
      expect((await store.get(doc('x')))?.data).toEqual({ c: 3 });
      await store.delete(doc('x'));
      expect(await store.get(doc('x'))).toBeNull();
      await store.delete(doc('x'));
      await store.set(doc('y'), { n: 1 });
      await store.set(doc('z'), { n: 2 });
      await store.deleteMany([doc('y'), doc('z'), doc('never')]);
      expect(await store.count(root)).toBe(0);
      await store.deleteMany([]);
    });

    it('reads many documents in one call, in the order asked, null where absent', async () => {
      fresh();
      await store.setMany([
        { path: doc('a'), data: { n: 1 } },
        { path: doc('b'), data: { n: 2 } },
      ]);
      expect(await store.getMany([doc('b'), doc('none'), doc('a')])).toEqual([
        { path: doc('b'), data: { n: 2 } },
        null,
        { path: doc('a'), data: { n: 1 } },
      ]);
      expect(await store.getMany([])).toEqual([]);
    });

    it('sets many documents in one write', async () => {
      fresh();
      await store.set(doc('a'), { n: 0, gone: true });
      await store.setMany([
        { path: doc('a'), data: { n: 1 } },
        { path: doc('b'), data: { n: 2 } },
      ]);
      expect((await store.get(doc('a')))?.data).toEqual({ n: 1 });
      expect((await store.get(doc('b')))?.data).toEqual({ n: 2 });
      await store.setMany([]);
      // A collection path is not a document: nothing of the batch is written.
      await expect(
        store.setMany([
          { path: doc('c'), data: { n: 3 } },
          { path: root, data: {} },
        ]),
      ).rejects.toThrow();
      expect(await store.get(doc('c'))).toBeNull();
    });

    it('drops undefined properties, and is not changed by callers mutating what they passed or got', async () => {
      fresh();
      const data = { keep: 1, skip: undefined, inner: { list: [1, 2] } };
      await store.set(doc('copy'), data);
      data.inner.list.push(3);
      const read = (await store.get<{ keep: number; inner: { list: number[] } }>(doc('copy')))!;
      expect(read.data).toEqual({ keep: 1, inner: { list: [1, 2] } });
      expect(Object.keys(read.data)).not.toContain('skip');
      read.data.inner.list.push(4);
      expect((await store.get(doc('copy')))?.data).toEqual({ keep: 1, inner: { list: [1, 2] } });
    });

    it("stores values in Firestore's value model", async () => {
      fresh();
      await store.set(doc('values'), {
        big: 7n,
        bytes: Buffer.from('hi'),
        list: [1, undefined, 2],
        empty: {},
        allUndefined: { a: undefined },
        nothing: null,
      });
      expect((await store.get(doc('values')))?.data).toEqual({
        big: 7,
        bytes: Buffer.from('hi'),
        list: [1, 2],
        empty: {},
        nothing: null,
      });
    });

    it('refuses data that is not plain objects, writing nothing', async () => {
      fresh();
      class Custom {
        x = 1;
      }
      await expect(store.set(doc('bad'), { c: new Custom() })).rejects.toThrow(/custom prototypes/);
      await expect(store.set(doc('bad'), { m: new Map([['k', 'v']]) })).rejects.toThrow(
        /plain JavaScript object/,
      );
      await expect(store.set(doc('bad'), [1] as unknown as object)).rejects.toThrow(
        /plain JavaScript object/,
      );
      expect(await store.get(doc('bad'))).toBeNull();
    });

    it('refuses a document path that names a collection', async () => {
      fresh();
      await expect(store.get(root)).rejects.toThrow();
      await expect(store.set(root, { a: 1 })).rejects.toThrow();
    });

    it('versions a document by its last write, as seconds.nanoseconds', async () => {
      fresh();
      await store.set(doc('v'), { n: 1 });
      const first = (await store.getVersioned<{ n: number }>(doc('v')))!;
      expect(first).toMatchObject({
        data: { n: 1 },
        version: expect.stringMatching(/^\d+\.\d{9}$/) as unknown,
      });
      expect((await store.getVersioned(doc('v')))?.version).toBe(first.version);
      await store.set(doc('v'), { n: 2 });
      expect((await store.getVersioned(doc('v')))?.version).not.toBe(first.version);
    });

    it('compare-and-sets on the version: exactly one of two writers at the same version wins', async () => {
      fresh();
      expect(await store.compareAndSet(doc('cas'), { v: 1 }, null)).toEqual({ status: 'written' });
      expect(await store.compareAndSet(doc('cas'), { v: 1 }, null)).toEqual({
        status: 'precondition_failed',
      });
      const seen = (await store.getVersioned<{ v: number }>(doc('cas')))!;
      const results = await Promise.all([
        store.compareAndSet(doc('cas'), { v: 2 }, seen.version),
        store.compareAndSet(doc('cas'), { v: 3 }, seen.version),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['precondition_failed', 'written']);
      const after = (await store.getVersioned<{ v: number }>(doc('cas')))!;
      expect(after.data.v).toBe(results[0]!.status === 'written' ? 2 : 3);
      expect(after.version).not.toBe(seen.version);
      // A stale version fails and changes nothing.
      expect(await store.compareAndSet(doc('cas'), { v: 9 }, seen.version)).toEqual({
        status: 'precondition_failed',
      });
      expect((await store.get(doc('cas')))?.data).toEqual(after.data);
      expect(await store.compareAndSet(doc('gone'), { v: 1 }, seen.version)).toEqual({
        status: 'precondition_failed',
      });
      expect(await store.get(doc('gone'))).toBeNull();
    });

    it('compare-and-set updates the fields it names and keeps the others (Firestore update)', async () => {
      fresh();
      await store.set(doc('u'), { a: 1, b: { x: 1, y: 2 } });
      const { version } = (await store.getVersioned(doc('u')))!;
      expect(await store.compareAndSet(doc('u'), { b: { x: 5 } }, version)).toEqual({ status: 'written' });
      expect((await store.get(doc('u')))?.data).toEqual({ a: 1, b: { x: 5 } });
    });

    it('serialises concurrent read-modify-write transactions without losing an update', async () => {
      fresh();
      await store.set(doc('counter'), { n: 0 });
      const increment = () =>
        store.runTransaction(async (tx) => {
          const current = await tx.get<{ n: number }>(doc('counter'));
          tx.set(doc('counter'), { n: (current?.data.n ?? 0) + 1 });
        });
      const worker = async () => {
        for (let i = 0; i < 10; i += 1) await increment();
      };
      await Promise.all([worker(), worker()]);
      expect((await store.get<{ n: number }>(doc('counter')))?.data.n).toBe(20);
    });

    it('commits a transaction atomically and returns what its callback returned', async () => {
      fresh();
      await store.set(doc('from'), { balance: 10 });
      const moved = await store.runTransaction(async (tx) => {
        const from = (await tx.get<{ balance: number }>(doc('from')))!;
        const to = await tx.get(doc('to'));
        expect(to).toBeNull();
        tx.set(doc('from'), { balance: from.data.balance - 4 });
        tx.create(doc('to'), { balance: 4 });
        tx.delete(doc('absent'));
        return 4;
      });
      expect(moved).toBe(4);
      expect((await store.get(doc('from')))?.data).toEqual({ balance: 6 });
      expect((await store.get(doc('to')))?.data).toEqual({ balance: 4 });
    });

    it('reads many documents in one transaction read, in order, and serialises on all of them', async () => {
      fresh();
      await store.set(doc('m1'), { n: 1 });
      await store.set(doc('m3'), { n: 3 });
      const first = await store.runTransaction((tx) =>
        tx.getMany<{ n: number }>([doc('m3'), doc('m2'), doc('m1')]),
      );
      expect(first).toEqual([{ path: doc('m3'), data: { n: 3 } }, null, { path: doc('m1'), data: { n: 1 } }]);
      const sum = () =>
        store.runTransaction(async (tx) => {
          const read = await tx.getMany<{ n: number }>([doc('m3'), doc('m2'), doc('m1')]);
          const total = read.reduce((n, d) => n + (d?.data.n ?? 0), 0);
          tx.set(doc('m2'), { n: total });
          tx.set(doc('m1'), { n: read[2]!.data.n + 1 });
          return total;
        });
      expect(await store.runTransaction((tx) => tx.getMany([]))).toEqual([]);
      // Each transaction reads m1 and m2 and writes both, so each must see the other's commit.
      const totals = await Promise.all([sum(), sum()]);
      expect(totals.sort((a, b) => a - b)).toEqual([4, 9]);
      expect((await store.get(doc('m1')))?.data).toEqual({ n: 3 });
    });

    it('writes nothing when the callback throws, and passes its error through', async () => {
      fresh();
      await expect(
        store.runTransaction(async (tx) => {
          tx.set(doc('never'), { n: 1 });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await store.get(doc('never'))).toBeNull();
    });

    it('fails the whole transaction when it creates an existing document', async () => {
      fresh();
      await store.set(doc('taken'), { n: 1 });
      await expect(
        store.runTransaction(async (tx) => {
          tx.set(doc('other'), { n: 2 });
          tx.create(doc('taken'), { n: 3 });
        }),
      ).rejects.toMatchObject({ code: 6 });
      expect((await store.get(doc('taken')))?.data).toEqual({ n: 1 });
      expect(await store.get(doc('other'))).toBeNull();
    });

    it('refuses a read after a write in one transaction', async () => {
      fresh();
      await expect(
        store.runTransaction(async (tx) => {
          tx.set(doc('w'), { n: 1 });
          await tx.get(doc('r'));
        }),
      ).rejects.toThrow('Firestore transactions require all reads to be executed before all writes.');
      expect(await store.get(doc('w'))).toBeNull();
    });

    it('queries with equality, range and in filters, order, offset and limit, and counts', async () => {
      fresh();
      const rows = [
        { i: 0, kind: 'a', size: 5 },
        { i: 1, kind: 'b', size: 3 },
        { i: 2, kind: 'a', size: 3 },
        { i: 3, kind: 'a', size: 1 },
        { i: 4, kind: 'c', size: 9 },
      ];
      for (const row of rows) await store.set(doc(String(row.i)), row);
      const ids = async (options: Parameters<DocumentStore['query']>[1]) =>
        (await store.query<{ i: number }>(root, options)).map((r) => r.data.i);

      expect(await ids({ where: [['kind', '==', 'a']], orderBy: [['i', 'desc']], limit: 2 })).toEqual([3, 2]);
      expect(await ids({ where: [['size', '<', 3]] })).toEqual([3]);
      expect(
        await ids({
          where: [['size', '<=', 3]],
          orderBy: [
            ['size', 'asc'],
            ['i', 'asc'],
          ],
        }),
      ).toEqual([3, 1, 2]);
      expect(await ids({ where: [['size', '>', 3]], orderBy: [['size', 'desc']] })).toEqual([4, 0]);
      expect(await ids({ where: [['size', '>=', 5]], orderBy: [['size', 'asc']] })).toEqual([0, 4]);
      expect(await ids({ where: [['kind', 'in', ['b', 'c']]], orderBy: [['i', 'asc']] })).toEqual([1, 4]);
      expect(
        await ids({
          where: [
            ['kind', '==', 'a'],
            ['size', '>=', 3],
          ],
          orderBy: [
            ['size', 'asc'],
            ['i', 'asc'],
          ],
        }),
      ).toEqual([2, 0]);
      expect(await ids({ orderBy: [['i', 'asc']], offset: 1, limit: 2 })).toEqual([1, 2]);
      expect(await ids({ orderBy: [['i', 'asc']], offset: 3 })).toEqual([3, 4]);

      expect(await store.count(root)).toBe(5);
      expect(await store.count(root, { where: [['kind', '==', 'a']] })).toBe(3);
      expect(await store.count(root, { where: [['size', '>', 100]] })).toBe(0);
      expect(await store.query(root, { where: [['kind', '==', 'zzz']] })).toEqual([]);
    });

    it('returns documents with their full path, by document id when no order is given', async () => {
      fresh();
      for (const id of ['b', 'c', 'a']) await store.set(doc(id), { id });
      expect(await store.query(root)).toEqual(['a', 'b', 'c'].map((id) => ({ path: doc(id), data: { id } })));
    });

    it('leaves documents without an ordered or filtered field out of the results', async () => {
      fresh();
      await store.set(doc('with'), { rank: 1 });
      await store.set(doc('without'), { other: 1 });
      expect((await store.query(root, { orderBy: [['rank', 'asc']] })).map((r) => r.path)).toEqual([
        doc('with'),
      ]);
      expect(await store.count(root, { where: [['rank', '>=', 0]] })).toBe(1);
    });

    it("orders values of different types by type, and range-filters only values of the filter's type", async () => {
      fresh();
      const values = ['s', 2, null, true, [1], { a: 1 }, 1];
      for (const [i, value] of values.entries()) await store.set(doc(String(i)), { value });
      const ordered = await store.query<{ value: unknown }>(root, { orderBy: [['value', 'asc']] });
      expect(ordered.map((r) => r.data.value)).toEqual([null, true, 1, 2, 's', [1], { a: 1 }]);
      expect(await store.count(root, { where: [['value', '>', 0]] })).toBe(2);
      expect(await store.count(root, { where: [['value', '>=', '']] })).toBe(1);
    });

    it('refuses queries Firestore refuses', async () => {
      fresh();
      await expect(store.query(root, { where: [['value', '<', null]] })).rejects.toThrow();
      await expect(store.query(root, { where: [['value', 'in', []]] })).rejects.toThrow();
      await expect(store.query(doc('x'))).rejects.toThrow();
      await expect(store.query('a/b', { group: true })).rejects.toThrow();
    });

    it('returns only the fields a projection names', async () => {
      fresh();
      await store.set(doc('1'), { id: 'a', big: 'x'.repeat(100), n: 1 });
      await store.set(doc('2'), { big: 'y', n: 2 });
      const rows = await store.query(root, { orderBy: [['n', 'asc']], fields: ['id', 'n'] });
      expect(rows).toEqual([
        { path: doc('1'), data: { id: 'a', n: 1 } },
        { path: doc('2'), data: { n: 2 } },
      ]);
    });

    it('filters on nested fields with dotted paths', async () => {
      fresh();
      await store.set(doc('1'), { meta: { state: 'open' } });
      await store.set(doc('2'), { meta: { state: 'closed' } });
      expect((await store.query(root, { where: [['meta.state', '==', 'open']] })).map((r) => r.path)).toEqual(
        [doc('1')],
      );
    });

    it('queries only the direct children of a collection, and a collection group at any depth', async () => {
      fresh();
      const group = unique('items');
      const top = `contract/${unique('g')}/parents`;
      await store.set(`${top}/one/${group}/x`, { n: 1 });
      await store.set(`${top}/two/${group}/y`, { n: 2 });
      await store.set(`${top}/two/deeper/z/${group}/w`, { n: 3 });
      await store.set(`${top}/one/elsewhere/v`, { n: 4 });
      expect((await store.query(`${top}/one/${group}`)).map((r) => r.path)).toEqual([
        `${top}/one/${group}/x`,
      ]);
      const all = await store.query<{ n: number }>(group, { group: true, orderBy: [['n', 'asc']] });
      expect(all).toEqual([
        { path: `${top}/one/${group}/x`, data: { n: 1 } },
        { path: `${top}/two/${group}/y`, data: { n: 2 } },
        { path: `${top}/two/deeper/z/${group}/w`, data: { n: 3 } },
      ]);
      expect(await store.count(group, { group: true, where: [['n', '>', 1]] })).toBe(2);
    });
  });
}
