import { beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore, PutResult } from '../../shared/adapters/objectStore.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';

const generationOf = (result: PutResult) => (result.status === 'written' ? result.generation : '');

/**
 * The behaviour every ObjectStore must have, as Arco relies on it (shared/adapters/objectStore.ts), with
 * the GCS JSON API as the reference (https://cloud.google.com/storage/docs/request-preconditions,
 * https://cloud.google.com/storage/docs/json_api/v1/objects/list). Registers one `describe` block named
 * `ObjectStore contract: {name}`; `makeStore` is called before each test and must return a store that
 * is empty (its own bucket), so listings can be asserted exactly. It covers the interface only: the
 * per-object rate limit and retries belong to each implementation's own tests. Each test writes one object
 * name at most four times, within the GCS stand-in's burst of 5, so it runs against the rate-limited
 * stand-in unchanged.
 */
export function describeObjectStoreContract(
  name: string,
  makeStore: () => ObjectStore | Promise<ObjectStore>,
) {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    beforeEach(async () => {
      store = await makeStore();
    });

    it('reads bytes with the generation they belong to, and null when absent', async () => {
      const written = await store.put('doc.json', '{"a":1}');
      expect(written.status).toBe('written');
      const read = await store.get('doc.json');
      expect(read?.bytes.toString()).toBe('{"a":1}');
      expect(read?.generation).toBe(generationOf(written));
      expect(await store.head('doc.json')).toEqual({
        generation: generationOf(written),
        size: 7,
        contentType: 'application/json',
      });
      expect(await store.get('absent.json')).toBeNull();
      expect(await store.head('absent.json')).toBeNull();
    });

    it('keeps binary bytes and the content type it was given', async () => {
      const bytes = Buffer.from([0, 255, 1, 128, 10, 13]);
      await store.put('blob.bin', bytes, { contentType: 'application/octet-stream' });
      const read = await store.get('blob.bin');
      expect(read?.bytes.equals(bytes)).toBe(true);
      expect(read?.contentType).toBe('application/octet-stream');
      expect((await store.head('blob.bin'))?.size).toBe(6);
    });

    it('is not changed by callers mutating the buffers they passed in or got back', async () => {
      const bytes = Buffer.from('original');
      await store.put('copy.txt', bytes);
      bytes.fill(0);
      const read = await store.get('copy.txt');
      read!.bytes.fill(0);
      expect((await store.get('copy.txt'))?.bytes.toString()).toBe('original');
    });

    it('gives every write a new, larger generation as a decimal string', async () => {
      const first = generationOf(await store.put('gen.json', '1'));
      const second = generationOf(await store.put('gen.json', '2'));
      const other = generationOf(await store.put('other.json', '1'));
      for (const generation of [first, second, other]) expect(generation).toMatch(/^[1-9]\d*$/);
      expect(BigInt(second)).toBeGreaterThan(BigInt(first));
      expect(BigInt(other)).toBeGreaterThan(BigInt(second));
    });

    it('creates only if absent with ifGenerationMatch 0', async () => {
      expect((await store.put('once.json', 'first', { ifGenerationMatch: 0 })).status).toBe('written');
      expect(await store.put('once.json', 'second', { ifGenerationMatch: 0 })).toEqual({
        status: 'precondition_failed',
      });
      expect(await store.put('once.json', 'third', { ifGenerationMatch: '0' })).toEqual({
        status: 'precondition_failed',
      });
      expect((await store.get('once.json'))?.bytes.toString()).toBe('first');
    });

    it('lets exactly one of two concurrent create-only puts win', async () => {
      const results = await Promise.all([
        store.put('race.json', 'a', { ifGenerationMatch: 0 }),
        store.put('race.json', 'b', { ifGenerationMatch: 0 }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['precondition_failed', 'written']);
      const winner = results.findIndex((r) => r.status === 'written');
      const read = await store.get('race.json');
      expect(read?.bytes.toString()).toBe(winner === 0 ? 'a' : 'b');
      expect(read?.generation).toBe(generationOf(results[winner]!));
    });

    it('gives a compare-and-swap loser a typed precondition_failed result, not an exception', async () => {
      const generation = generationOf(await store.put('pointer.json', '{"v":1}', { ifGenerationMatch: 0 }));
      const results = await Promise.all([
        store.put('pointer.json', '{"v":2}', { ifGenerationMatch: generation }),
        store.put('pointer.json', '{"v":3}', { ifGenerationMatch: generation }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['precondition_failed', 'written']);
      const winner = results.find((r) => r.status === 'written')!;
      expect((await store.head('pointer.json'))?.generation).toBe(generationOf(winner));
    });

    it('refuses a compare-and-swap on a stale generation or on an absent object', async () => {
      const stale = generationOf(await store.put('cas.json', 'v1'));
      const current = generationOf(await store.put('cas.json', 'v2', { ifGenerationMatch: stale }));
      expect(await store.put('cas.json', 'late', { ifGenerationMatch: stale })).toEqual({
        status: 'precondition_failed',
      });
      expect(await store.put('never.json', 'x', { ifGenerationMatch: current })).toEqual({
        status: 'precondition_failed',
      });
      expect(await store.get('never.json')).toBeNull();
      const read = await store.get('cas.json');
      expect(read?.bytes.toString()).toBe('v2');
      expect(read?.generation).toBe(current);
    });

    it('deletes with preconditions and reports what happened', async () => {
      const written = await store.put('gone.json', '1');
      expect(await store.delete('gone.json', { ifGenerationMatch: 1 })).toEqual({
        status: 'precondition_failed',
      });
      expect(await store.get('gone.json')).not.toBeNull();
      expect(await store.delete('gone.json', { ifGenerationMatch: generationOf(written) })).toEqual({
        status: 'deleted',
      });
      expect(await store.get('gone.json')).toBeNull();
      expect(await store.delete('gone.json')).toEqual({ status: 'not_found' });
      expect(await store.delete('gone.json', { ifGenerationMatch: generationOf(written) })).toEqual({
        status: 'not_found',
      });
      // Deleted means gone: the name can be created again.
      expect((await store.put('gone.json', '2', { ifGenerationMatch: 0 })).status).toBe('written');
    });

    it('lists names under a prefix in lexicographic order, folding at the delimiter', async () => {
      for (const key of [
        'a/2.json',
        'a/10.json',
        'a/1.json',
        'a/sub/x.json',
        'a/sub/y.json',
        'ab.json',
        'b.json',
      ])
        await store.put(key, key);
      expect(await store.list('a/')).toEqual({
        keys: ['a/1.json', 'a/10.json', 'a/2.json', 'a/sub/x.json', 'a/sub/y.json'],
        prefixes: [],
      });
      expect(await store.list('a/', { delimiter: '/' })).toEqual({
        keys: ['a/1.json', 'a/10.json', 'a/2.json'],
        prefixes: ['a/sub/'],
      });
      expect(await store.list('', { delimiter: '/' })).toEqual({
        keys: ['ab.json', 'b.json'],
        prefixes: ['a/'],
      });
      expect((await store.list('a')).keys).toContain('ab.json');
      expect(await store.list('c/')).toEqual({ keys: [], prefixes: [] });
    });

    it('pages a listing without repeating or skipping a name or a prefix', async () => {
      const keys = ['p/a', 'p/b', 'p/c/1', 'p/c/2', 'p/d', 'p/e/1'];
      for (const key of keys) await store.put(key, '');
      const seen: string[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const page = await store.list('p/', {
          delimiter: '/',
          maxResults: 2,
          ...(pageToken ? { pageToken } : {}),
        });
        expect(page.keys.length + page.prefixes.length).toBeLessThanOrEqual(2);
        seen.push(...page.keys, ...page.prefixes);
        pageToken = page.nextPageToken;
        pages += 1;
      } while (pageToken && pages < 10);
      expect(seen.sort()).toEqual(['p/a', 'p/b', 'p/c/', 'p/d', 'p/e/']);
      // GCS may return short pages, never longer ones.
      expect(pages).toBeGreaterThanOrEqual(3);
    });

    it('keeps each workspace under its own prefix and cannot see another', async () => {
      const a = scopedObjectStore(store, { tenant: 't1', workspace: 'a' });
      const b = scopedObjectStore(store, { tenant: 't1', workspace: 'b' });
      await a.put('state/x.json', 'from a');
      expect((await store.get('tenant=t1/workspace=a/state/x.json'))?.bytes.toString()).toBe('from a');
      expect(await b.get('state/x.json')).toBeNull();
      expect((await a.list('state/')).keys).toEqual(['state/x.json']);
      expect((await b.list('state/')).keys).toEqual([]);
    });
  });
}
