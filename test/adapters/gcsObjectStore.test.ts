import { beforeAll, describe, expect, it } from 'vitest';
import { GcsObjectStore } from '../../shared/adapters/gcsObjectStore.ts';
import { scopedObjectStore } from '../../shared/adapters/scopedObjectStore.ts';
import { createTestBucket } from '../support/testDependencies.ts';

describe('GcsObjectStore', () => {
  let store: GcsObjectStore;
  beforeAll(async () => {
    store = new GcsObjectStore(await createTestBucket());
  });

  it('gives a compare-and-swap loser a typed precondition_failed result, not an exception', async () => {
    const created = await store.put('pointer.json', '{"v":1}', { ifGenerationMatch: 0 });
    expect(created.status).toBe('written');
    const generation = created.status === 'written' ? created.generation : '';
    const [winner, loser] = await Promise.all([
      store.put('pointer.json', '{"v":2}', { ifGenerationMatch: generation }),
      store.put('pointer.json', '{"v":3}', { ifGenerationMatch: generation }),
    ]).then((results) => results.sort((a) => (a.status === 'written' ? -1 : 1)));
    expect(winner!.status).toBe('written');
    expect(loser).toEqual({ status: 'precondition_failed' });
    expect(await store.put('pointer.json', 'x', { ifGenerationMatch: 0 })).toEqual({
      status: 'precondition_failed',
    });
  });

  it('reads bytes with the generation they belong to, and null when absent', async () => {
    const written = await store.put('doc.json', '{"a":1}');
    const read = await store.get('doc.json');
    expect(read?.bytes.toString()).toBe('{"a":1}');
    expect(written.status === 'written' && read?.generation).toBe(
      written.status === 'written' ? written.generation : '',
    );
    expect(await store.get('absent.json')).toBeNull();
    expect(await store.head('absent.json')).toBeNull();
  });

  it('never reports an object absent while it is being replaced', async () => {
    await store.put('moving.json', '0');
    let stop = false;
    const writer = (async () => {
      for (let i = 1; !stop; i += 1) await store.put('moving.json', String(i));
    })();
    const reads = await Promise.all(Array.from({ length: 200 }, () => store.get('moving.json')));
    stop = true;
    await writer;
    expect(reads.filter((r) => r === null)).toHaveLength(0);
    for (const read of reads) expect(Number(read!.bytes.toString())).toBeGreaterThanOrEqual(0);
  });

  it('deletes with preconditions and reports what happened', async () => {
    const written = await store.put('gone.json', '1');
    expect(await store.delete('gone.json', { ifGenerationMatch: 1 })).toEqual({
      status: 'precondition_failed',
    });
    expect(
      await store.delete('gone.json', {
        ifGenerationMatch: written.status === 'written' ? written.generation : 0,
      }),
    ).toEqual({
      status: 'deleted',
    });
    expect(await store.delete('gone.json')).toEqual({ status: 'not_found' });
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
