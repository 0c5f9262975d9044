/**
 * A Cloud Storage stand-in speaking the JSON API subset that @google-cloud/storage 7 uses.
 * It exists because no offline emulator honours generation preconditions, and every race in Arco is
 * settled by one. Semantics follow the public GCS documentation:
 * generations and metagenerations, ifGeneration(Not)Match / ifMetageneration(Not)Match with 412,
 * 404 for absent objects, multipart and resumable uploads, Range reads, list with
 * prefix/delimiter/pageToken, copy and rewrite, and the per-object mutation rate limit (429
 * rateLimitExceeded, see ObjectRateLimit) that production enforces and an unthrottled fake would hide.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CRC32C } from '@google-cloud/storage';

interface StoredObject {
  bucket: string;
  name: string;
  generation: number;
  metageneration: number;
  contentType: string;
  metadata?: Record<string, string>;
  timeCreated: string;
  updated: string;
  md5Hash: string;
  crc32c: string;
  data: Buffer;
}

interface ResumableSession {
  bucket: string;
  meta: ObjectMetadataInput;
  preconditions: Preconditions;
  chunks: Buffer[];
  received: number;
}

interface ObjectMetadataInput {
  name?: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

interface Preconditions {
  ifGenerationMatch?: number;
  ifGenerationNotMatch?: number;
  ifMetagenerationMatch?: number;
  ifMetagenerationNotMatch?: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
    readonly domain = 'global',
  ) {
    super(message);
  }
}

/**
 * The per-object mutation limit of Cloud Storage. The quotas page (https://cloud.google.com/storage/quotas,
 * Objects) states "an update limit on each object of once per second, so rapid writes to a single object
 * won't scale", and the request-rate guidelines (https://cloud.google.com/storage/docs/request-rate) a
 * smaller limit for repeated writes to the same object name than the bucket's ~1000 writes/s; beyond it
 * GCS answers 429 rateLimitExceeded (https://cloud.google.com/storage/docs/gcs429). The docs give no burst
 * size, so the stand-in models a token bucket per (bucket, object name): `burst` mutations at once, then
 * `perSecond`. Mutations are create, overwrite, delete, metadata patch/update and the destination of
 * copy/rewrite (and of a resumable upload when it completes); reads and lists are never limited.
 */
export interface ObjectRateLimit {
  /** Sustained mutations per second per object name (GCS: about 1). */
  perSecond: number;
  /** Mutations allowed at once before the sustained rate applies. */
  burst: number;
}

export const DEFAULT_OBJECT_RATE_LIMIT: Readonly<ObjectRateLimit> = { perSecond: 1, burst: 5 };

/**
 * A bucket label that exempts one bucket's objects from the limit, for the few tests that mutate one
 * name on purpose while sharing the stand-in that vitest's global setup starts (they cannot restart it
 * with other options). Cloud Storage ignores the label; nothing in production sets it.
 */
export const RATE_LIMIT_EXEMPT_LABEL = 'arco-standin-object-rate-limit';

/**
 * Parses `ARCO_GCS_OBJECT_RATE_LIMIT`. Unset, empty, `1` or `on`: the default (1/s, burst 5). `0` or
 * `off`: no limit. Otherwise comma-separated parts, each optional: `<rate>/s` (mutations per second,
 * > 0) and `burst=<n>` (integer >= 1), e.g. `2/s,burst=10`. Throws on anything else, so a typo does not
 * silently run the stack unthrottled.
 */
export function parseObjectRateLimit(raw: string | undefined): ObjectRateLimit | false {
  const text = (raw ?? '').trim().toLowerCase();
  if (text === '' || text === '1' || text === 'on') return { ...DEFAULT_OBJECT_RATE_LIMIT };
  if (text === '0' || text === 'off') return false;
  const limit = { ...DEFAULT_OBJECT_RATE_LIMIT };
  for (const part of text.split(',').map((p) => p.trim())) {
    const rate = /^(\d+(?:\.\d+)?)\/s$/.exec(part);
    const burst = /^burst=(\d+)$/.exec(part);
    if (rate && Number(rate[1]) > 0) limit.perSecond = Number(rate[1]);
    else if (burst && Number(burst[1]) >= 1) limit.burst = Number(burst[1]);
    else
      throw new Error(
        `ARCO_GCS_OBJECT_RATE_LIMIT: cannot read ${JSON.stringify(part)}; use 0, 1, "<rate>/s", "burst=<n>" or both ("1/s,burst=5")`,
      );
  }
  return limit;
}

/** Token buckets per object name; see ObjectRateLimit. Time comes from `now` (ms) so tests can drive it. */
class ObjectMutationLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: ObjectRateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws 429 when `bucket/name` has no token left; otherwise returns a commit that spends one. */
  check(bucket: string, name: string): () => void {
    const key = `${bucket}\u0000${name}`;
    const now = this.now();
    const state = this.buckets.get(key);
    const tokens = state
      ? Math.min(this.limit.burst, state.tokens + ((now - state.at) / 1000) * this.limit.perSecond)
      : this.limit.burst;
    if (tokens < 1)
      throw new HttpError(
        429,
        // Cloud Storage's own wording (seen in client logs; https://cloud.google.com/storage/docs/gcs429).
        `The object ${bucket}/${name} exceeded the rate limit for object mutation operations (create, update, and delete). Please reduce your request rate. See https://cloud.google.com/storage/docs/gcs429.`,
        'rateLimitExceeded',
        'usageLimits',
      );
    // Spent only when the mutation happens: a 412 or a 400 changed nothing, so it costs nothing.
    return () => {
      this.buckets.set(key, { tokens: tokens - 1, at: now });
      if (this.buckets.size > 10_000) this.forgetFull(now);
    };
  }

  /** Drops names whose bucket has refilled, which behave exactly like names never seen. */
  private forgetFull(now: number) {
    for (const [key, state] of this.buckets)
      if (state.tokens + ((now - state.at) / 1000) * this.limit.perSecond >= this.limit.burst)
        this.buckets.delete(key);
  }
}

const notFound = (what: string) => new HttpError(404, `No such object: ${what}`, 'notFound');

export interface GcsStandinOptions {
  host?: string;
  port?: number;
  /** Directory that keeps buckets and objects across restarts; in-memory only when absent. */
  dataDir?: string;
  /**
   * The per-object mutation limit; `false` turns it off. Default: `ARCO_GCS_OBJECT_RATE_LIMIT` read by
   * parseObjectRateLimit, which is on (1/s, burst 5) when the variable is unset.
   */
  objectRateLimit?: ObjectRateLimit | false;
}

interface BucketRecord {
  name: string;
  timeCreated: string;
  labels?: Record<string, string>;
}

export interface GcsStandin {
  url: string;
  port: number;
  close(): Promise<void>;
}

export class GcsStandinStore {
  private readonly buckets = new Map<string, BucketRecord>();
  private readonly objects = new Map<string, Map<string, StoredObject>>();
  private lastGeneration = Date.now() * 1000;
  private readonly limiter: ObjectMutationLimiter | undefined;

  /**
   * @param dataDir where buckets and objects persist; in-memory only when absent.
   * @param objectRateLimit the per-object mutation limit (ObjectRateLimit), `false` for none; off unless
   *   given, so a store built directly is unthrottled and startGcsStandin decides the default.
   * @param now clock in ms for the limiter.
   */
  constructor(
    private readonly dataDir?: string,
    objectRateLimit: ObjectRateLimit | false = false,
    now: () => number = Date.now,
  ) {
    if (dataDir) this.load(dataDir);
    if (objectRateLimit) this.limiter = new ObjectMutationLimiter(objectRateLimit, now);
  }

  /**
   * Checked before the preconditions, as a throttled request is refused before it is looked at: with no
   * token left the answer is 429 even if a precondition would also fail.
   */
  private mutationPermit(bucket: string, name: string): () => void {
    if (!this.limiter || this.getBucket(bucket).labels?.[RATE_LIMIT_EXEMPT_LABEL] === 'off') return () => {};
    return this.limiter.check(bucket, name);
  }

  nextGeneration(): number {
    this.lastGeneration = Math.max(this.lastGeneration + 1, Date.now() * 1000);
    return this.lastGeneration;
  }

  createBucket(name: string, labels?: Record<string, string>): BucketRecord {
    if (!/^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/.test(name))
      throw new HttpError(400, `Invalid bucket name: ${name}`, 'invalid');
    if (this.buckets.has(name))
      throw new HttpError(409, `The requested bucket name is not available: ${name}`, 'conflict');
    const bucket: BucketRecord = {
      name,
      timeCreated: new Date().toISOString(),
      ...(labels ? { labels } : {}),
    };
    this.buckets.set(name, bucket);
    this.objects.set(name, new Map());
    this.persistBucket(bucket);
    return bucket;
  }

  getBucket(name: string) {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new HttpError(404, `The specified bucket does not exist: ${name}`, 'notFound');
    return bucket;
  }

  listBuckets() {
    return [...this.buckets.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  deleteBucket(name: string) {
    this.getBucket(name);
    if ((this.objects.get(name)?.size ?? 0) > 0)
      throw new HttpError(409, 'The bucket you tried to delete is not empty.', 'conflict');
    this.buckets.delete(name);
    this.objects.delete(name);
    if (this.dataDir) rmSync(this.bucketDir(name), { recursive: true, force: true });
  }

  get(bucket: string, name: string): StoredObject | undefined {
    this.getBucket(bucket);
    return this.objects.get(bucket)?.get(name);
  }

  require(bucket: string, name: string, generation?: number): StoredObject {
    const object = this.get(bucket, name);
    if (!object || (generation !== undefined && object.generation !== generation))
      throw notFound(`${bucket}/${name}`);
    return object;
  }

  write(bucket: string, meta: ObjectMetadataInput, data: Buffer, pre: Preconditions): StoredObject {
    const name = meta.name;
    if (!name) throw new HttpError(400, 'Required: object name', 'required');
    const permit = this.mutationPermit(bucket, name);
    const existing = this.get(bucket, name);
    checkPreconditions(existing, pre);
    permit();
    const now = new Date().toISOString();
    const object: StoredObject = {
      bucket,
      name,
      generation: this.nextGeneration(),
      metageneration: 1,
      contentType: meta.contentType ?? 'application/octet-stream',
      timeCreated: now,
      updated: now,
      md5Hash: createHash('md5').update(data).digest('base64'),
      crc32c: crc32c(data),
      data,
      ...(meta.metadata ? { metadata: meta.metadata } : {}),
    };
    this.objects.get(bucket)!.set(name, object);
    this.persistObject(object);
    return object;
  }

  patch(bucket: string, name: string, patch: ObjectMetadataInput, pre: Preconditions): StoredObject {
    const object = this.require(bucket, name);
    const permit = this.mutationPermit(bucket, name);
    checkPreconditions(object, pre);
    permit();
    if (patch.contentType) object.contentType = patch.contentType;
    if (patch.metadata) {
      const merged: Record<string, string> = { ...object.metadata };
      for (const [key, value] of Object.entries(patch.metadata)) {
        if (value === null) delete merged[key];
        else merged[key] = String(value);
      }
      object.metadata = merged;
    }
    object.metageneration += 1;
    object.updated = new Date().toISOString();
    this.persistObject(object);
    return object;
  }

  delete(bucket: string, name: string, pre: Preconditions, generation?: number) {
    const object = this.require(bucket, name, generation);
    const permit = this.mutationPermit(bucket, name);
    checkPreconditions(object, pre);
    permit();
    this.objects.get(bucket)!.delete(name);
    if (this.dataDir) {
      const base = this.objectPath(bucket, name);
      rmSync(`${base}.json`, { force: true });
      rmSync(`${base}.bin`, { force: true });
    }
  }

  list(bucket: string, query: URLSearchParams) {
    this.getBucket(bucket);
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const startOffset = query.get('startOffset') ?? '';
    const endOffset = query.get('endOffset') ?? '';
    const maxResults = Math.min(Number(query.get('maxResults') ?? 1000) || 1000, 1000);
    const pageToken = query.get('pageToken');
    const after = pageToken ? Buffer.from(pageToken, 'base64url').toString('utf8') : '';
    const names = [...this.objects.get(bucket)!.keys()]
      .filter((n) => n.startsWith(prefix) && n >= startOffset && (!endOffset || n < endOffset))
      .sort();
    // Items and common prefixes share one ordered stream so a page boundary never splits or repeats one.
    const entries: Array<{ key: string; prefix?: string; name?: string }> = [];
    const seenPrefixes = new Set<string>();
    for (const name of names) {
      const rest = name.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        const common = prefix + rest.slice(0, cut + delimiter.length);
        if (!seenPrefixes.has(common)) {
          seenPrefixes.add(common);
          entries.push({ key: common, prefix: common });
        }
      } else entries.push({ key: name, name });
    }
    const remaining = entries.filter((e) => e.key > after);
    const page = remaining.slice(0, maxResults);
    const items = page.filter((e) => e.name).map((e) => this.require(bucket, e.name!));
    const prefixes = page.filter((e) => e.prefix).map((e) => e.prefix!);
    const last = page.at(-1);
    return {
      kind: 'storage#objects',
      ...(items.length ? { items: items.map(objectResource) } : {}),
      ...(prefixes.length ? { prefixes } : {}),
      ...(remaining.length > page.length && last
        ? { nextPageToken: Buffer.from(last.key).toString('base64url') }
        : {}),
    };
  }

  private bucketDir(bucket: string) {
    return join(this.dataDir!, 'gcs', bucket);
  }

  private objectPath(bucket: string, name: string) {
    return join(this.bucketDir(bucket), createHash('sha256').update(name).digest('hex'));
  }

  private persistBucket(bucket: BucketRecord) {
    if (!this.dataDir) return;
    mkdirSync(this.bucketDir(bucket.name), { recursive: true });
    writeFileSync(join(this.bucketDir(bucket.name), '.bucket.json'), JSON.stringify(bucket));
  }

  private persistObject(object: StoredObject) {
    if (!this.dataDir) return;
    const base = this.objectPath(object.bucket, object.name);
    const { data, ...meta } = object;
    writeFileSync(`${base}.bin`, data);
    writeFileSync(`${base}.json`, JSON.stringify(meta));
  }

  private load(dataDir: string) {
    const root = join(dataDir, 'gcs');
    if (!existsSync(root)) return;
    for (const bucketName of readdirSync(root)) {
      const dir = join(root, bucketName);
      const bucketFile = join(dir, '.bucket.json');
      if (!existsSync(bucketFile)) continue;
      this.buckets.set(bucketName, JSON.parse(readFileSync(bucketFile, 'utf8')));
      const objects = new Map<string, StoredObject>();
      for (const file of readdirSync(dir)) {
        if (!file.endsWith('.json') || file === '.bucket.json') continue;
        const meta = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<StoredObject, 'data'>;
        const binFile = join(dir, file.replace(/\.json$/, '.bin'));
        if (!existsSync(binFile)) continue;
        objects.set(meta.name, { ...meta, data: readFileSync(binFile) });
        this.lastGeneration = Math.max(this.lastGeneration, meta.generation);
      }
      this.objects.set(bucketName, objects);
    }
  }
}

/**
 * A single-request upload that declares its MD5 (`X-Goog-Hash: md5=<base64>`) is refused with 400,
 * nothing stored, when the bytes received do not have it: as GCS validates uploads.
 */
function checkDeclaredMd5(req: IncomingMessage, data: Buffer) {
  const declared = /(?:^|,)\s*md5=([^,\s]+)/.exec(String(req.headers['x-goog-hash'] ?? ''))?.[1];
  if (declared === undefined) return;
  const actual = createHash('md5').update(data).digest('base64');
  if (declared !== actual)
    throw new HttpError(
      400,
      `Provided MD5 hash "${declared}" doesn't match calculated MD5 hash "${actual}".`,
      'invalid',
    );
}

function crc32c(data: Buffer): string {
  const checksum = new CRC32C();
  checksum.update(data);
  return checksum.toString();
}

function checkPreconditions(existing: StoredObject | undefined, pre: Preconditions) {
  const generation = existing?.generation ?? 0;
  const failed = (what: string) =>
    new HttpError(
      412,
      `At least one of the pre-conditions you specified did not hold (${what}).`,
      'conditionNotMet',
    );
  if (pre.ifGenerationMatch !== undefined && pre.ifGenerationMatch !== generation)
    throw failed('ifGenerationMatch');
  if (pre.ifGenerationNotMatch !== undefined && pre.ifGenerationNotMatch === generation)
    throw failed('ifGenerationNotMatch');
  if (pre.ifMetagenerationMatch !== undefined) {
    if (!existing || existing.metageneration !== pre.ifMetagenerationMatch)
      throw failed('ifMetagenerationMatch');
  }
  if (pre.ifMetagenerationNotMatch !== undefined && existing?.metageneration === pre.ifMetagenerationNotMatch)
    throw failed('ifMetagenerationNotMatch');
}

function preconditionsFrom(query: URLSearchParams, prefix = ''): Preconditions {
  const read = (name: string) => {
    const key = prefix ? `${prefix}${name[0]!.toUpperCase()}${name.slice(1)}` : name;
    const raw = query.get(key);
    if (raw === null || raw === '') return undefined;
    if (!/^\d+$/.test(raw)) throw new HttpError(400, `Invalid value for ${key}: ${raw}`, 'invalid');
    return Number(raw);
  };
  const pre: Preconditions = {};
  for (const key of [
    'ifGenerationMatch',
    'ifGenerationNotMatch',
    'ifMetagenerationMatch',
    'ifMetagenerationNotMatch',
  ] as const) {
    const value = read(key);
    if (value !== undefined) pre[key] = value;
  }
  return pre;
}

function objectResource(o: StoredObject) {
  const encoded = encodeURIComponent(o.name);
  return {
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `/storage/v1/b/${o.bucket}/o/${encoded}`,
    mediaLink: `/download/storage/v1/b/${o.bucket}/o/${encoded}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: String(o.generation),
    metageneration: String(o.metageneration),
    contentType: o.contentType,
    storageClass: 'STANDARD',
    size: String(o.data.length),
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    etag: Buffer.from(`${o.generation}/${o.metageneration}`).toString('base64'),
    timeCreated: o.timeCreated,
    updated: o.updated,
    ...(o.metadata ? { metadata: o.metadata } : {}),
  };
}

function bucketResource(b: BucketRecord) {
  return {
    kind: 'storage#bucket',
    id: b.name,
    name: b.name,
    location: 'US',
    storageClass: 'STANDARD',
    timeCreated: b.timeCreated,
    ...(b.labels ? { labels: b.labels } : {}),
  };
}

/** Splits a multipart/related body into its metadata JSON and its media bytes. */
function parseMultipart(body: Buffer, contentType: string): { meta: ObjectMetadataInput; data: Buffer } {
  const match = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!match) throw new HttpError(400, 'multipart upload without boundary', 'invalid');
  const delimiter = Buffer.from(`--${match[1]}`);
  const parts: Buffer[] = [];
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    parts.push(body.subarray(start + delimiter.length, next));
    start = next;
  }
  const bodies = parts.map((part) => {
    const headerEnd = part.indexOf('\r\n\r\n');
    const content = part.subarray(headerEnd + 4);
    // Each part ends with the CRLF that precedes the next delimiter.
    return content.subarray(0, content.length - 2);
  });
  if (bodies.length < 2)
    throw new HttpError(400, 'multipart upload needs metadata and media parts', 'invalid');
  return { meta: JSON.parse(bodies[0]!.toString('utf8')), data: bodies[1]! };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, error: HttpError) {
  sendJson(res, error.status, {
    error: {
      code: error.status,
      message: error.message,
      errors: [{ domain: error.domain, reason: error.reason, message: error.message }],
    },
  });
}

function sendMedia(req: IncomingMessage, res: ServerResponse, object: StoredObject) {
  const headers: Record<string, string> = {
    'content-type': object.contentType,
    'x-goog-generation': String(object.generation),
    'x-goog-metageneration': String(object.metageneration),
    'x-goog-stored-content-length': String(object.data.length),
    'x-goog-stored-content-encoding': 'identity',
    'accept-ranges': 'bytes',
  };
  const range = req.headers.range;
  const size = object.data.length;
  const match = range ? /^bytes=(\d*)-(\d*)$/.exec(range) : null;
  if (match && (match[1] || match[2])) {
    let first: number;
    let last: number;
    if (!match[1]) {
      first = Math.max(0, size - Number(match[2]));
      last = size - 1;
    } else {
      first = Number(match[1]);
      last = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
    }
    if (first >= size || first > last) {
      res.writeHead(416, { 'content-range': `bytes */${size}` });
      res.end();
      return;
    }
    const slice = object.data.subarray(first, last + 1);
    res.writeHead(206, {
      ...headers,
      'content-range': `bytes ${first}-${last}/${size}`,
      'content-length': String(slice.length),
    });
    res.end(slice);
    return;
  }
  // The client validates downloads of whole objects against these hashes.
  headers['x-goog-hash'] = `crc32c=${object.crc32c},md5=${object.md5Hash}`;
  res.writeHead(200, { ...headers, 'content-length': String(size) });
  res.end(object.data);
}

export function createGcsStandinHandler(store: GcsStandinStore, baseUrl: () => string) {
  const sessions = new Map<string, ResumableSession>();

  const finishResumable = (res: ServerResponse, id: string, session: ResumableSession) => {
    sessions.delete(id);
    const object = store.write(
      session.bucket,
      session.meta,
      Buffer.concat(session.chunks),
      session.preconditions,
    );
    sendJson(res, 200, objectResource(object));
  };

  const handleResumableChunk = async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    const id = query.get('upload_id') ?? '';
    const session = sessions.get(id);
    if (!session) throw new HttpError(404, 'No such upload session', 'notFound');
    const body = await readBody(req);
    const contentRange = String(req.headers['content-range'] ?? '');
    const statusOnly = /^bytes \*\/(\*|\d+)$/.exec(contentRange);
    const chunk = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(contentRange);
    let total: number | undefined;
    if (statusOnly) {
      total = statusOnly[1] === '*' ? undefined : Number(statusOnly[1]);
    } else if (chunk) {
      const first = Number(chunk[1]);
      if (first !== session.received)
        throw new HttpError(400, `Chunk starts at ${first}, expected ${session.received}`, 'invalid');
      session.chunks.push(body);
      session.received += body.length;
      total = chunk[3] === '*' ? undefined : Number(chunk[3]);
    } else {
      // A PUT without Content-Range carries the whole object.
      session.chunks.push(body);
      session.received += body.length;
      total = session.received;
    }
    if (total !== undefined && session.received >= total) {
      finishResumable(res, id, session);
      return;
    }
    const headers: Record<string, string> = session.received
      ? { range: `bytes=0-${session.received - 1}` }
      : {};
    res.writeHead(308, headers);
    res.end();
  };

  const handleUpload = async (
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    query: URLSearchParams,
  ) => {
    store.getBucket(bucket);
    if (req.method === 'PUT') return handleResumableChunk(req, res, query);
    const uploadType = query.get('uploadType') ?? 'media';
    const pre = preconditionsFrom(query);
    const body = await readBody(req);
    const nameFromQuery = query.get('name') ?? undefined;
    if (uploadType === 'resumable') {
      const meta: ObjectMetadataInput = body.length ? JSON.parse(body.toString('utf8')) : {};
      if (nameFromQuery) meta.name = nameFromQuery;
      if (!meta.name) throw new HttpError(400, 'Required: object name', 'required');
      // Fail fast as GCS does; the precondition is checked again when the upload completes.
      checkPreconditions(store.get(bucket, meta.name), pre);
      const id = randomBytes(16).toString('hex');
      sessions.set(id, { bucket, meta, preconditions: pre, chunks: [], received: 0 });
      const location = `${baseUrl()}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&upload_id=${id}`;
      res.writeHead(200, { location, 'x-guploader-uploadid': id });
      res.end();
      return;
    }
    let meta: ObjectMetadataInput;
    let data: Buffer;
    if (uploadType === 'multipart') {
      ({ meta, data } = parseMultipart(body, String(req.headers['content-type'] ?? '')));
      if (nameFromQuery) meta.name = nameFromQuery;
    } else {
      meta = { name: nameFromQuery, contentType: String(req.headers['content-type'] ?? '') || undefined };
      data = body;
    }
    checkDeclaredMd5(req, data);
    sendJson(res, 200, objectResource(store.write(bucket, meta, data, pre)));
  };

  const handleCopy = async (
    res: ServerResponse,
    kind: string,
    [srcBucket, srcName, dstBucket, dstName]: string[],
    query: URLSearchParams,
    req: IncomingMessage,
  ) => {
    const sourceGeneration = query.get('sourceGeneration');
    const source = store.require(
      srcBucket!,
      srcName!,
      sourceGeneration ? Number(sourceGeneration) : undefined,
    );
    checkPreconditions(source, preconditionsFrom(query, 'ifSource'));
    const body = await readBody(req);
    const overrides: ObjectMetadataInput = body.length ? JSON.parse(body.toString('utf8')) : {};
    const written = store.write(
      dstBucket!,
      {
        name: dstName!,
        contentType: overrides.contentType ?? source.contentType,
        metadata: overrides.metadata ?? source.metadata,
      },
      source.data,
      preconditionsFrom(query),
    );
    if (kind === 'rewriteTo') {
      sendJson(res, 200, {
        kind: 'storage#rewriteResponse',
        totalBytesRewritten: String(written.data.length),
        objectSize: String(written.data.length),
        done: true,
        resource: objectResource(written),
      });
    } else sendJson(res, 200, objectResource(written));
  };

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const query = url.searchParams;
    // The client sends JSON-API calls to `${host}/b/...` when STORAGE_EMULATOR_HOST is set; curl users
    // follow the documented `/storage/v1/b/...` form. Both reach the same routes.
    let path = url.pathname.replace(/^\/storage\/v1(?=\/)/, '').replace(/^\/download\/storage\/v1(?=\/)/, '');
    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(path);
    if (upload) return handleUpload(req, res, decodeURIComponent(upload[1]!), query);
    path = path.replace(/\/+$/, '') || '/';
    const segments = path
      .split('/')
      .slice(1)
      .map((s) => decodeURIComponent(s));
    const method = req.method ?? 'GET';

    if (segments[0] === 'b' && segments.length === 1) {
      if (method === 'POST') {
        const body = JSON.parse((await readBody(req)).toString('utf8') || '{}');
        const labels =
          body.labels && typeof body.labels === 'object'
            ? (body.labels as Record<string, string>)
            : undefined;
        return sendJson(res, 200, bucketResource(store.createBucket(String(body.name ?? ''), labels)));
      }
      return sendJson(res, 200, { kind: 'storage#buckets', items: store.listBuckets().map(bucketResource) });
    }
    if (segments[0] !== 'b' || !segments[1])
      throw new HttpError(404, `Not found: ${url.pathname}`, 'notFound');
    const bucket = segments[1];
    if (segments.length === 2) {
      if (method === 'DELETE') {
        store.deleteBucket(bucket);
        res.writeHead(204);
        res.end();
        return;
      }
      return sendJson(res, 200, bucketResource(store.getBucket(bucket)));
    }
    if (segments[2] !== 'o') throw new HttpError(404, `Not found: ${url.pathname}`, 'notFound');
    if (segments.length === 3) {
      if (method === 'POST') return handleUpload(req, res, bucket, query);
      return sendJson(res, 200, store.list(bucket, query));
    }
    // The client percent-encodes '/' in object names, so a name is one path segment; copy and rewrite
    // put a second object after `/copyTo|rewriteTo/b/{bucket}/o/`.
    const objectName = segments[3]!;
    if (segments.length === 9 && (segments[4] === 'copyTo' || segments[4] === 'rewriteTo')) {
      return handleCopy(res, segments[4], [bucket, objectName, segments[6]!, segments[8]!], query, req);
    }
    const generation = query.get('generation') ? Number(query.get('generation')) : undefined;
    const pre = preconditionsFrom(query);
    if (method === 'GET') {
      const object = store.require(bucket, objectName, generation);
      if (pre.ifGenerationNotMatch !== undefined && pre.ifGenerationNotMatch === object.generation) {
        res.writeHead(304);
        res.end();
        return;
      }
      checkPreconditions(object, { ...pre, ifGenerationNotMatch: undefined });
      if (query.get('alt') === 'media') return sendMedia(req, res, object);
      return sendJson(res, 200, objectResource(object));
    }
    if (method === 'DELETE') {
      store.delete(bucket, objectName, pre, generation);
      res.writeHead(204);
      res.end();
      return;
    }
    if (method === 'PATCH' || method === 'PUT') {
      const patch = JSON.parse((await readBody(req)).toString('utf8') || '{}');
      return sendJson(res, 200, objectResource(store.patch(bucket, objectName, patch, pre)));
    }
    throw new HttpError(405, `Method ${method} not allowed`, 'methodNotAllowed');
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) return sendError(res, error);
      if (error instanceof SyntaxError)
        return sendError(res, new HttpError(400, error.message, 'parseError'));
      sendError(res, new HttpError(500, String(error), 'backendError'));
    });
  };
}

/**
 * Starts the stand-in on `host:port` (loopback, a free port by default) and resolves once it listens.
 * The per-object mutation limit is on unless `objectRateLimit: false` or ARCO_GCS_OBJECT_RATE_LIMIT=0
 * (see parseObjectRateLimit, which throws on a malformed value).
 */
export async function startGcsStandin(options: GcsStandinOptions = {}): Promise<GcsStandin> {
  const host = options.host ?? '127.0.0.1';
  const store = new GcsStandinStore(
    options.dataDir,
    options.objectRateLimit ?? parseObjectRateLimit(process.env.ARCO_GCS_OBJECT_RATE_LIMIT),
  );
  let url = '';
  const server: Server = createServer(createGcsStandinHandler(store, () => url));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  url = `http://${host}:${port}`;
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
