import { createHash } from 'node:crypto';
import { type Bucket, type File, RETRYABLE_ERR_FN_DEFAULT, Storage } from '@google-cloud/storage';
import {
  type DeleteResult,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  ObjectStoreRateLimitedError,
  type PutOptions,
  type PutResult,
  type StoredObject,
} from './objectStore.ts';
import { storageOperations } from '../observability/metrics.ts';

/** The JSON-API path reports `code`, the resumable (gaxios) path `status`; both carry the HTTP status. */
const codeOf = (error: unknown): number | undefined => {
  const { code, status } = (error ?? {}) as { code?: unknown; status?: unknown };
  if (typeof code === 'number') return code;
  return typeof status === 'number' ? status : undefined;
};

export interface GcsObjectStoreOptions {
  /**
   * Longest time, in ms, that one preconditioned put or delete keeps retrying transient failures (429,
   * 408, 5xx) before it gives up; no retry starts after it. Default 10 000.
   */
  retryBudgetMs?: number;
  /** First backoff in ms; each retry doubles it (truncated at 8 s), jittered down by up to half. Default 1000. */
  initialBackoffMs?: number;
}

/**
 * Cloud Storage behind ObjectStore. Locally the client follows STORAGE_EMULATOR_HOST to the stand-in.
 *
 * Retries of writes are ours, not the client library's. @google-cloud/storage 7 retries 408/429/5xx only
 * for preconditioned writes (IdempotencyStrategy.RetryConditional), but it does so through the shared
 * `storage.retryOptions.autoRetry`, which an unconditional `file.save` sets to false and never restores,
 * and which each later File copies: after one unconditional put, no preconditioned put of the process was
 * retried any more (seen on 7.22.0 against the stand-in). So a put is one attempt of the library (a
 * delete may still be retried inside it, within the library's own 3 retries), and a preconditioned put
 * or delete is retried here, per the GCS retry strategy
 * (https://cloud.google.com/storage/docs/retry-strategy): the library's own retryable-error test
 * (408, 429, 5xx, connection resets), truncated exponential backoff from 1 s with jitter, within
 * `retryBudgetMs`. A write without a precondition is not idempotent and is never retried; its 429 is an
 * ObjectStoreRateLimitedError. A 412 is always the typed `precondition_failed`.
 */
export class GcsObjectStore implements ObjectStore {
  private readonly bucket: Bucket;
  private readonly retryBudgetMs: number;
  private readonly initialBackoffMs: number;

  constructor(bucketName: string, storage: Storage = new Storage(), options: GcsObjectStoreOptions = {}) {
    this.bucket = storage.bucket(bucketName);
    this.retryBudgetMs = options.retryBudgetMs ?? 10_000;
    this.initialBackoffMs = options.initialBackoffMs ?? 1000;
  }

  private isRetryable(error: unknown): boolean {
    const retryable = this.bucket.storage.retryOptions.retryableErrorFn ?? RETRYABLE_ERR_FN_DEFAULT;
    return retryable(error as Parameters<typeof retryable>[0]);
  }

  /**
   * Runs `attempt` once, or, when `idempotent`, again after each retryable failure until the retry budget
   * would be exceeded. A final 429 becomes ObjectStoreRateLimitedError; anything else is rethrown.
   */
  private async withRetries<T>(
    key: string,
    operation: 'put' | 'delete',
    idempotent: boolean,
    attempt: () => Promise<T>,
  ): Promise<T> {
    const started = Date.now();
    for (let retry = 0; ; retry += 1) {
      try {
        return await attempt();
      } catch (error) {
        const delay = Math.min(8000, this.initialBackoffMs * 2 ** retry) * (0.5 + Math.random() * 0.5);
        const retryable = idempotent && this.isRetryable(error);
        if (retryable && Date.now() - started + delay <= this.retryBudgetMs) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        if (codeOf(error) === 429)
          throw new ObjectStoreRateLimitedError(key, operation, retry > 0, { cause: error });
        throw error;
      }
    }
  }

  /**
   * One single-request media upload (JSON API `uploadType=media`) through the library's authenticated
   * `File.request`, with its own retries off (`maxRetries: 0`; see the class), returning the object's
   * generation. Not `createWriteStream`: its stream pipeline (multipart encoder, duplexify, CRC32C in
   * JavaScript) cost 1.2 ms of CPU per small put against 0.4 here, and nearly every event is a put.
   * Integrity is still checked, with Node's native MD5: the request carries the MD5 of the bytes sent
   * (`X-Goog-Hash`, which GCS checks before storing), and the answer must name a generation and that MD5.
   */
  private async upload(
    file: File,
    data: Buffer,
    contentType: string,
    ifGenerationMatch: number | undefined,
  ): Promise<string> {
    const md5 = createHash('md5').update(data).digest('base64');
    const [resource] = (await file.request({
      method: 'POST',
      uri: `${this.bucket.storage.apiEndpoint}/upload/storage/v1/b/${encodeURIComponent(this.bucket.name)}/o`,
      qs: {
        uploadType: 'media',
        name: file.name,
        ...(ifGenerationMatch !== undefined ? { ifGenerationMatch } : {}),
      },
      // GCS refuses the write (400) when the bytes it received do not have this MD5, before storing them.
      headers: { 'Content-Type': contentType, 'X-Goog-Hash': `md5=${md5}` },
      body: data,
      maxRetries: 0,
    })) as unknown as [{ generation?: string | number; md5Hash?: string } | undefined];
    if (resource?.generation === undefined || resource.md5Hash !== md5)
      throw new Error(
        `gs://${this.bucket.name}/${file.name}: the upload's answer names generation ${String(resource?.generation)} and MD5 ${String(resource?.md5Hash)}, not ${md5}`,
      );
    return String(resource.generation);
  }

  /**
   * One request: the bytes and the generation come from the same response (`x-goog-generation`), so an
   * object being replaced is read at one version or the next, never reported absent or mixed.
   */
  async get(key: string): Promise<StoredObject | null> {
    storageOperations.inc({ store: 'gcs', operation: 'get' });
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let generation = '';
      let contentType = 'application/octet-stream';
      this.bucket
        .file(key)
        .createReadStream()
        .on('response', (response: { headers: Record<string, string | undefined> }) => {
          generation = String(response.headers['x-goog-generation'] ?? '');
          contentType = response.headers['content-type'] ?? contentType;
        })
        .on('data', (chunk: Buffer) => chunks.push(chunk))
        .on('end', () => resolve({ bytes: Buffer.concat(chunks), generation, contentType }))
        .on('error', (error: unknown) => (codeOf(error) === 404 ? resolve(null) : reject(error)));
    });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    storageOperations.inc({ store: 'gcs', operation: 'head' });
    try {
      const [metadata] = await this.bucket.file(key).getMetadata();
      return {
        generation: String(metadata.generation),
        size: Number(metadata.size ?? 0),
        contentType: metadata.contentType ?? 'application/octet-stream',
      };
    } catch (error) {
      if (codeOf(error) === 404) return null;
      throw error;
    }
  }

  /**
   * Writes `bytes` under `key`. With `ifGenerationMatch` the write is conditional (412 →
   * `precondition_failed`) and retried on transient failures (see the class); without it, one attempt.
   * Throws ObjectStoreRateLimitedError on a 429 that is not (or no longer) retried.
   */
  async put(key: string, bytes: Buffer | string, options: PutOptions = {}): Promise<PutResult> {
    storageOperations.inc({ store: 'gcs', operation: 'put' });
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const conditional = options.ifGenerationMatch !== undefined;
    try {
      return await this.withRetries(key, 'put', conditional, async () => {
        const generation = await this.upload(
          this.bucket.file(key),
          data,
          options.contentType ?? 'application/json',
          conditional ? Number(options.ifGenerationMatch) : undefined,
        );
        return { status: 'written', generation } as const;
      });
    } catch (error) {
      if (codeOf(error) === 412) return { status: 'precondition_failed' };
      throw error;
    }
  }

  /**
   * Deletes `key`; with `ifGenerationMatch` only that generation (412 → `precondition_failed`) and with
   * retries as for put. Throws ObjectStoreRateLimitedError on a 429 that is not (or no longer) retried.
   */
  async delete(key: string, options: { ifGenerationMatch?: string | number } = {}): Promise<DeleteResult> {
    storageOperations.inc({ store: 'gcs', operation: 'delete' });
    const conditional = options.ifGenerationMatch !== undefined;
    try {
      await this.withRetries(key, 'delete', conditional, () =>
        this.bucket
          .file(key)
          .delete(conditional ? { ifGenerationMatch: Number(options.ifGenerationMatch) } : {}),
      );
      return { status: 'deleted' };
    } catch (error) {
      if (codeOf(error) === 404) return { status: 'not_found' };
      if (codeOf(error) === 412) return { status: 'precondition_failed' };
      throw error;
    }
  }

  async list(
    prefix: string,
    options: { delimiter?: string; pageToken?: string; maxResults?: number } = {},
  ): Promise<ListPage> {
    storageOperations.inc({ store: 'gcs', operation: 'list' });
    const [files, next, response] = await this.bucket.getFiles({
      prefix,
      autoPaginate: false,
      ...(options.delimiter ? { delimiter: options.delimiter } : {}),
      ...(options.pageToken ? { pageToken: options.pageToken } : {}),
      maxResults: options.maxResults ?? 1000,
    });
    const prefixes = ((response as { prefixes?: string[] } | undefined)?.prefixes ?? []).slice();
    const nextPageToken = (next as { pageToken?: string } | null)?.pageToken;
    return { keys: files.map((f) => f.name), prefixes, ...(nextPageToken ? { nextPageToken } : {}) };
  }
}
