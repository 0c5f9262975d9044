import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bucket, Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GcsStandin,
  parseObjectRateLimit,
  RATE_LIMIT_EXEMPT_LABEL,
  startGcsStandin,
} from '../../local/gcsStandin.ts';
import { createTestBucket, uniqueName } from '../support/testDependencies.ts';

const status = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 200;
  } catch (error) {
    const { code, status } = error as { code?: number; status?: number };
    return code ?? status;
  }
};

describe('GCS stand-in, driven by @google-cloud/storage', () => {
  let bucket: Bucket;
  beforeAll(async () => {
    bucket = new Storage().bucket(await createTestBucket());
  });

  it('creates only once with ifGenerationMatch=0 and answers 412 to the second writer', async () => {
    const file = bucket.file('create-only/a.json');
    await file.save('first', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    expect(
      await status(file.save('second', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })),
    ).toBe(412);
    expect((await file.download())[0].toString()).toBe('first');
  });

  it('settles a 10-way create-only race with exactly one winner', async () => {
    const file = bucket.file('race/one.json');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        status(
          bucket
            .file('race/one.json')
            .save(`writer ${i}`, { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
        ),
      ),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(1);
    expect(results.filter((s) => s === 412)).toHaveLength(9);
    expect((await file.download())[0].toString()).toMatch(/^writer \d$/);
  });

  it('compare-and-swaps on the current generation and refuses a stale one', async () => {
    const file = bucket.file('cas/pointer.json');
    await file.save('v1', { resumable: false });
    const [meta1] = await file.getMetadata();
    await file.save('v2', {
      resumable: false,
      preconditionOpts: { ifGenerationMatch: Number(meta1.generation) },
    });
    const [meta2] = await file.getMetadata();
    expect(Number(meta2.generation)).toBeGreaterThan(Number(meta1.generation));
    expect(meta2.metageneration).toBe('1');
    expect(
      await status(
        file.save('stale', {
          resumable: false,
          preconditionOpts: { ifGenerationMatch: Number(meta1.generation) },
        }),
      ),
    ).toBe(412);
    expect(await status(file.delete({ ifGenerationMatch: Number(meta1.generation) }))).toBe(412);
    expect(await status(file.delete({ ifGenerationMatch: Number(meta2.generation) }))).toBe(200);
    expect(await status(file.getMetadata())).toBe(404);
  });

  it('honours ifGenerationNotMatch and ifMetagenerationMatch', async () => {
    const file = bucket.file('meta/doc.json');
    await file.save('x', { resumable: false });
    const [meta] = await file.getMetadata();
    expect(
      await status(
        file.save('y', {
          resumable: false,
          preconditionOpts: { ifGenerationNotMatch: Number(meta.generation) },
        }),
      ),
    ).toBe(412);
    await file.setMetadata({ metadata: { owner: 'a' } }, { ifMetagenerationMatch: 1 });
    const [after] = await file.getMetadata();
    expect(after.metageneration).toBe('2');
    expect(after.metadata).toEqual({ owner: 'a' });
    expect(await status(file.setMetadata({ metadata: { owner: 'b' } }, { ifMetagenerationMatch: 1 }))).toBe(
      412,
    );
  });

  it('refuses a media upload whose declared MD5 differs from the bytes, storing nothing, and keeps one that matches', async () => {
    const upload = (name: string, body: string, md5Of: string) =>
      bucket.file(name).request({
        method: 'POST',
        uri: `${bucket.storage.apiEndpoint}/upload/storage/v1/b/${bucket.name}/o`,
        qs: { uploadType: 'media', name },
        headers: {
          'Content-Type': 'text/plain',
          'X-Goog-Hash': `md5=${createHash('md5').update(md5Of).digest('base64')}`,
        },
        body: Buffer.from(body),
        maxRetries: 0,
      });
    expect(await status(upload('md5/bad.txt', 'sent', 'other'))).toBe(400);
    expect((await bucket.file('md5/bad.txt').exists())[0]).toBe(false);
    expect(await status(upload('md5/good.txt', 'sent', 'sent'))).toBe(200);
    expect((await bucket.file('md5/good.txt').download())[0].toString()).toBe('sent');
  });

  it('answers 404 for absent objects and buckets', async () => {
    expect(await status(bucket.file('nope.json').download())).toBe(404);
    expect(await status(new Storage().bucket('no-such-bucket-xyz').file('a').getMetadata())).toBe(404);
  });

  it('runs chunked resumable uploads, refuses a resumable create-only overwrite, and serves ranges', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 123);
    const file = bucket.file('big/blob.bin');
    await file.save(data, {
      resumable: true,
      chunkSize: 1024 * 1024,
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    const [back] = await file.download();
    expect(back.equals(data)).toBe(true);
    const [slice] = await file.download({ start: 10, end: 19 });
    expect(slice.equals(data.subarray(10, 20))).toBe(true);
    expect(
      await status(file.save(data, { resumable: true, preconditionOpts: { ifGenerationMatch: 0 } })),
    ).toBe(412);
  });

  it('lists with prefix, delimiter and page tokens without repeating or losing names', async () => {
    for (const name of ['l/a/1', 'l/a/2', 'l/b/1', 'l/c', 'l/d', 'l/e', 'other'])
      await bucket.file(name).save(name, { resumable: false });
    const [files, , response] = await bucket.getFiles({ prefix: 'l/', delimiter: '/', autoPaginate: false });
    expect(files.map((f) => f.name)).toEqual(['l/c', 'l/d', 'l/e']);
    expect((response as { prefixes: string[] }).prefixes).toEqual(['l/a/', 'l/b/']);
    const seen: string[] = [];
    type PageQuery = { prefix: string; maxResults: number; autoPaginate: false; pageToken?: string };
    let query: PageQuery | null = { prefix: 'l/', maxResults: 2, autoPaginate: false };
    while (query) {
      const result = await bucket.getFiles(query);
      seen.push(...result[0].map((f) => f.name));
      query = result[1] as PageQuery | null;
    }
    expect(seen).toEqual(['l/a/1', 'l/a/2', 'l/b/1', 'l/c', 'l/d', 'l/e']);
  });

  it('copies objects, with a destination precondition', async () => {
    await bucket.file('copy/src').save('payload', { resumable: false, contentType: 'text/plain' });
    await bucket.file('copy/src').copy(bucket.file('copy/dst'));
    const [meta] = await bucket.file('copy/dst').getMetadata();
    expect(meta.contentType).toBe('text/plain');
    expect((await bucket.file('copy/dst').download())[0].toString()).toBe('payload');
    expect(
      await status(
        bucket.file('copy/src').copy(bucket.file('copy/dst'), { preconditionOpts: { ifGenerationMatch: 0 } }),
      ),
    ).toBe(412);
  });

  it('keeps buckets and objects across a restart when given a data directory (plain JSON API, as curl uses it)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gcs-standin-'));
    const upload = (url: string, body: string) =>
      fetch(`${url}/upload/storage/v1/b/persisted/o?uploadType=media&name=a%2Fb.json`, {
        method: 'POST',
        body,
      });
    const metadata = async (url: string) =>
      (await (await fetch(`${url}/storage/v1/b/persisted/o/a%2Fb.json`)).json()) as { generation: string };
    const first = await startGcsStandin({ dataDir });
    await fetch(`${first.url}/storage/v1/b?project=p`, {
      method: 'POST',
      body: JSON.stringify({ name: 'persisted' }),
    });
    expect((await upload(first.url, '{"kept":true}')).status).toBe(200);
    const before = await metadata(first.url);
    await first.close();

    const second = await startGcsStandin({ dataDir });
    const media = await fetch(`${second.url}/storage/v1/b/persisted/o/a%2Fb.json?alt=media`);
    expect(await media.text()).toBe('{"kept":true}');
    expect((await metadata(second.url)).generation).toBe(before.generation);
    await upload(second.url, 'new');
    expect(Number((await metadata(second.url)).generation)).toBeGreaterThan(Number(before.generation));
    await second.close();
  });
});

/** The plain JSON API of a stand-in of the test's own, so each test picks its limit (and no env leaks in). */
const jsonApi = (standin: GcsStandin, bucket: string) => {
  const o = (name: string) => `${standin.url}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`;
  const call = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, init);
    const text = await response.text();
    return { status: response.status, text, json: () => JSON.parse(text) };
  };
  return {
    createBucket: () =>
      call(`${standin.url}/storage/v1/b?project=p`, {
        method: 'POST',
        body: JSON.stringify({ name: bucket }),
      }),
    upload: (name: string, body: string, query = '') =>
      call(
        `${standin.url}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=${encodeURIComponent(name)}${query}`,
        { method: 'POST', body },
      ),
    media: (name: string) => call(`${o(name)}?alt=media`),
    metadata: (name: string) => call(o(name)),
    list: () => call(`${standin.url}/storage/v1/b/${bucket}/o`),
    patch: (name: string) =>
      call(o(name), { method: 'PATCH', body: JSON.stringify({ metadata: { touched: 'yes' } }) }),
    remove: (name: string) => call(o(name), { method: 'DELETE' }),
    copy: (from: string, to: string) =>
      call(`${o(from)}/copyTo/b/${bucket}/o/${encodeURIComponent(to)}`, { method: 'POST' }),
  };
};

describe('GCS stand-in: per-object mutation rate limit (429 rateLimitExceeded)', () => {
  const started: GcsStandin[] = [];
  const standinWith = async (options: Parameters<typeof startGcsStandin>[0]) => {
    const standin = await startGcsStandin(options);
    started.push(standin);
    const api = jsonApi(standin, 'limited');
    expect((await api.createBucket()).status).toBe(200);
    return api;
  };
  afterAll(async () => {
    await Promise.all(started.map((s) => s.close()));
  });

  it('allows a burst, then refuses every kind of mutation with the GCS 429 body and changes nothing', async () => {
    const api = await standinWith({ objectRateLimit: { perSecond: 1, burst: 3 } });
    for (const v of ['v1', 'v2', 'v3']) expect((await api.upload('a.json', v)).status).toBe(200);
    const refused = await api.upload('a.json', 'v4');
    expect(refused.status).toBe(429);
    expect(refused.json()).toEqual({
      error: {
        code: 429,
        message:
          'The object limited/a.json exceeded the rate limit for object mutation operations (create, update, and delete). Please reduce your request rate. See https://cloud.google.com/storage/docs/gcs429.',
        errors: [expect.objectContaining({ reason: 'rateLimitExceeded', domain: 'usageLimits' })],
      },
    });
    const before = (await api.metadata('a.json')).json();
    expect((await api.patch('a.json')).status).toBe(429);
    expect((await api.remove('a.json')).status).toBe(429);
    expect((await api.upload('src.json', 'other')).status).toBe(200);
    expect((await api.copy('src.json', 'a.json')).status).toBe(429);
    // Reads are never limited, however many.
    const reads = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0 ? api.media('a.json') : i % 3 === 1 ? api.metadata('a.json') : api.list(),
      ),
    );
    expect(reads.map((r) => r.status)).toEqual(reads.map(() => 200));
    expect((await api.media('a.json')).text).toBe('v3');
    expect((await api.metadata('a.json')).json()).toEqual(before);
  });

  it('recovers at about one mutation per second', async () => {
    const api = await standinWith({ objectRateLimit: { perSecond: 1, burst: 2 } });
    expect((await api.upload('p.json', '1')).status).toBe(200);
    expect((await api.upload('p.json', '2')).status).toBe(200);
    expect((await api.upload('p.json', '3')).status).toBe(429);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await api.upload('p.json', '4')).status).toBe(200);
    expect((await api.upload('p.json', '5')).status).toBe(429);
    expect((await api.media('p.json')).text).toBe('4');
  });

  it('limits each name on its own and charges only mutations that happen (not 412s, not 429s)', async () => {
    const api = await standinWith({ objectRateLimit: { perSecond: 1, burst: 2 } });
    expect((await api.upload('x', '1')).status).toBe(200);
    expect((await api.upload('x', '2')).status).toBe(200);
    expect((await api.upload('x', '3')).status).toBe(429);
    expect((await api.upload('y', '1')).status).toBe(200);
    expect((await api.upload('y/z', '1')).status).toBe(200);
    // A lost create-only race changes nothing, so it leaves the token to the next real write.
    expect((await api.upload('c', 'first', '&ifGenerationMatch=0')).status).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await api.upload('c', 'late', '&ifGenerationMatch=0')).status).toBe(412);
    expect((await api.upload('c', 'second')).status).toBe(200);
    expect((await api.upload('c', 'third')).status).toBe(429);
    expect((await api.media('c')).text).toBe('second');
  });

  it('is switched off by the option, by ARCO_GCS_OBJECT_RATE_LIMIT=0, and for a bucket labelled as exempt', async () => {
    const unlimited = await standinWith({ objectRateLimit: false });
    for (let i = 0; i < 12; i++) expect((await unlimited.upload('hot', String(i))).status).toBe(200);

    const saved = process.env.ARCO_GCS_OBJECT_RATE_LIMIT;
    process.env.ARCO_GCS_OBJECT_RATE_LIMIT = '0';
    try {
      const fromEnv = await standinWith({});
      for (let i = 0; i < 12; i++) expect((await fromEnv.upload('hot', String(i))).status).toBe(200);
    } finally {
      if (saved === undefined) delete process.env.ARCO_GCS_OBJECT_RATE_LIMIT;
      else process.env.ARCO_GCS_OBJECT_RATE_LIMIT = saved;
    }

    // The shared stand-in of the test run, through the client library, as a test that needs it would.
    const name = uniqueName('arco-test');
    await new Storage().createBucket(name, { labels: { [RATE_LIMIT_EXEMPT_LABEL]: 'off' } });
    const file = new Storage().bucket(name).file('hot.json');
    for (let i = 0; i < 12; i++) await file.save(String(i), { resumable: false });
    expect((await file.download())[0].toString()).toBe('11');
  });

  it('reads ARCO_GCS_OBJECT_RATE_LIMIT as on, off, "<rate>/s" and "burst=<n>", and refuses anything else', () => {
    expect(parseObjectRateLimit(undefined)).toEqual({ perSecond: 1, burst: 5 });
    expect(parseObjectRateLimit('1')).toEqual({ perSecond: 1, burst: 5 });
    expect(parseObjectRateLimit('0')).toBe(false);
    expect(parseObjectRateLimit('off')).toBe(false);
    expect(parseObjectRateLimit('2/s,burst=10')).toEqual({ perSecond: 2, burst: 10 });
    expect(parseObjectRateLimit('burst=1')).toEqual({ perSecond: 1, burst: 1 });
    expect(parseObjectRateLimit('0.5/s')).toEqual({ perSecond: 0.5, burst: 5 });
    expect(() => parseObjectRateLimit('fast')).toThrow(/ARCO_GCS_OBJECT_RATE_LIMIT/);
    expect(() => parseObjectRateLimit('burst=0')).toThrow(/ARCO_GCS_OBJECT_RATE_LIMIT/);
  });
});
