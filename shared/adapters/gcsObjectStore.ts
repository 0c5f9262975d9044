import { type Bucket, Storage } from '@google-cloud/storage';
import type {
  DeleteResult,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  PutResult,
  StoredObject,
} from './objectStore.ts';

/** The JSON-API path reports `code`, the resumable (gaxios) path `status`; both carry the HTTP status. */
const codeOf = (error: unknown): number | undefined => {
  const { code, status } = (error ?? {}) as { code?: unknown; status?: unknown };
  if (typeof code === 'number') return code;
  return typeof status === 'number' ? status : undefined;
};

/** Cloud Storage behind ObjectStore. Locally the client follows STORAGE_EMULATOR_HOST to the stand-in. */
export class GcsObjectStore implements ObjectStore {
  private readonly bucket: Bucket;

  constructor(bucketName: string, storage: Storage = new Storage()) {
    this.bucket = storage.bucket(bucketName);
  }

  /**
   * One request: the bytes and the generation come from the same response (`x-goog-generation`), so an
   * object being replaced is read at one version or the next, never reported absent or mixed.
   */
  async get(key: string): Promise<StoredObject | null> {
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

  async put(key: string, bytes: Buffer | string, options: PutOptions = {}): Promise<PutResult> {
    const file = this.bucket.file(key);
    try {
      await file.save(typeof bytes === 'string' ? Buffer.from(bytes) : bytes, {
        resumable: false,
        contentType: options.contentType ?? 'application/json',
        ...(options.ifGenerationMatch !== undefined
          ? { preconditionOpts: { ifGenerationMatch: Number(options.ifGenerationMatch) } }
          : {}),
      });
      return { status: 'written', generation: String(file.metadata.generation) };
    } catch (error) {
      if (codeOf(error) === 412) return { status: 'precondition_failed' };
      throw error;
    }
  }

  async delete(key: string, options: { ifGenerationMatch?: string | number } = {}): Promise<DeleteResult> {
    try {
      await this.bucket
        .file(key)
        .delete(
          options.ifGenerationMatch !== undefined
            ? { ifGenerationMatch: Number(options.ifGenerationMatch) }
            : {},
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
