import { Storage } from '@google-cloud/storage';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { RATE_LIMIT_EXEMPT_LABEL } from '../../local/gcsStandin.ts';
import { GcsObjectStore } from '../../shared/adapters/gcsObjectStore.ts';
import { ObjectStoreRateLimitedError } from '../../shared/adapters/objectStore.ts';
import { createTestBucket, uniqueName } from '../support/testDependencies.ts';

/** Writes `key` unconditionally until the stand-in's per-object limit refuses one; returns the last value kept. */
async function exhaust(store: GcsObjectStore, key: string): Promise<string> {
  let kept = '';
  for (let i = 0; i < 50; i++) {
    try {
      await store.put(key, `burst ${i}`);
      kept = `burst ${i}`;
    } catch (error) {
      expect(error).toBeInstanceOf(ObjectStoreRateLimitedError);
      expect(error).toMatchObject({ code: 'rate_limited', key, operation: 'put', retried: false });
      return kept;
    }
  }
  throw new Error(`${key}: 50 writes in a row were never rate limited`);
}

const generationOf = async (store: GcsObjectStore, key: string) => (await store.head(key))!.generation;

describe('GcsObjectStore', () => {
  let store: GcsObjectStore;
  let bucketName: string;
  beforeAll(async () => {
    bucketName = await createTestBucket();
    store = new GcsObjectStore(bucketName);
  });

  it('never reports an object absent while it is being replaced', async () => {
    // This test rewrites one name as fast as it can on purpose, far above Cloud Storage's ~1/s per object,
    // so it runs in a bucket the stand-in exempts from that limit (its subject is read/replace atomicity).
    const bucketName = uniqueName('arco-test');
    await new Storage().createBucket(bucketName, { labels: { [RATE_LIMIT_EXEMPT_LABEL]: 'off' } });
    const store = new GcsObjectStore(bucketName);
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

  it('rides out a short burst of 429s on a preconditioned write, and never retries an unconditional one', async () => {
    const kept = await exhaust(store, 'hot/pointer.json');
    // The refused unconditional write changed nothing.
    expect((await store.get('hot/pointer.json'))?.bytes.toString()).toBe(kept);
    const started = Date.now();
    const swapped = await store.put('hot/pointer.json', 'swapped', {
      ifGenerationMatch: await generationOf(store, 'hot/pointer.json'),
    });
    expect(swapped.status).toBe('written');
    // It had to wait for the name's next token (about 1 s), and the budget bounds the wait.
    expect(Date.now() - started).toBeGreaterThan(300);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await store.get('hot/pointer.json'))?.bytes.toString()).toBe('swapped');
  });

  it('still answers precondition_failed to a stale preconditioned write that met 429s first', async () => {
    await store.put('hot/stale.json', 'v0');
    const stale = await generationOf(store, 'hot/stale.json');
    await exhaust(store, 'hot/stale.json');
    expect(await store.put('hot/stale.json', 'late', { ifGenerationMatch: stale })).toEqual({
      status: 'precondition_failed',
    });
    expect(await store.delete('hot/stale.json', { ifGenerationMatch: stale })).toEqual({
      status: 'precondition_failed',
    });
  });

  it('deletes through 429s with a precondition, and refuses an unconditional delete with rate_limited', async () => {
    await exhaust(store, 'hot/gone.json');
    await expect(store.delete('hot/gone.json')).rejects.toMatchObject({
      code: 'rate_limited',
      operation: 'delete',
      retried: false,
    });
    expect(
      await store.delete('hot/gone.json', { ifGenerationMatch: await generationOf(store, 'hot/gone.json') }),
    ).toEqual({ status: 'deleted' });
    expect(await store.get('hot/gone.json')).toBeNull();
  });

  it('gives up on a preconditioned write once its retry budget is spent', async () => {
    const impatient = new GcsObjectStore(bucketName, undefined, { retryBudgetMs: 150, initialBackoffMs: 50 });
    await exhaust(impatient, 'hot/budget.json');
    const generation = await generationOf(impatient, 'hot/budget.json');
    const started = Date.now();
    await expect(
      impatient.put('hot/budget.json', 'x', { ifGenerationMatch: generation }),
    ).rejects.toMatchObject({
      code: 'rate_limited',
      operation: 'put',
      retried: true,
    });
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('writes the bytes, content type and generation it reports, and refuses a put answered with another MD5', async () => {
    const written = await store.put('typed.ndjson', Buffer.from('{"a":1}\n'), {
      contentType: 'application/x-ndjson',
      ifGenerationMatch: 0,
    });
    expect(written.status).toBe('written');
    const read = await store.get('typed.ndjson');
    expect(read).toMatchObject({ contentType: 'application/x-ndjson' });
    expect(read!.bytes.toString()).toBe('{"a":1}\n');
    expect(written).toMatchObject({ generation: read!.generation });

    // A server that stores other bytes than were sent (the MD5 it reports is of "other").
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            name: 'x',
            generation: '7',
            md5Hash: createHash('md5').update('other').digest('base64'),
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const corrupting = new GcsObjectStore(
        'b',
        new Storage({
          apiEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          projectId: 'p',
        }),
      );
      await expect(corrupting.put('x', 'sent')).rejects.toThrow(/answer names generation 7 and MD5 .*, not /);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
