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

  async get(key: string): Promise<StoredObject | null> {
    const file = this.bucket.file(key);
    try {
      // Metadata first so bytes and generation describe the same version: the download names it.
      const [metadata] = await file.getMetadata();
      const generation = String(metadata.generation);
      const [bytes] = await this.bucket.file(key, { generation }).download();
      return { bytes, generation, contentType: metadata.contentType ?? 'application/octet-stream' };
    } catch (error) {
      if (codeOf(error) === 404) return null;
      throw error;
    }
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
