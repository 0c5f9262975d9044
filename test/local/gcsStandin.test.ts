import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bucket, Storage } from '@google-cloud/storage';
import { beforeAll, describe, expect, it } from 'vitest';
import { startGcsStandin } from '../../local/gcsStandin.ts';
import { createTestBucket } from '../support/testDependencies.ts';

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
