import type { Context, MiddlewareHandler } from 'hono';
import { every } from 'hono/combine';
import type { Role } from '../../../../shared/auth/principal.ts';
import { canonicalJsonText } from '../../../../shared/registry/canonicalSchemaJson.ts';
import { sha256Hex } from '../../../../shared/core/hashing.ts';
import { ArcoError, badRequest, type ErrorCode } from '../../../../shared/core/arcoError.ts';
import type { AppEnv } from '../../../../shared/http/appEnv.ts';
import { requireRole } from '../../../../shared/http/authMiddleware.ts';
import { requestBodyLimit } from '../../../../shared/http/requestBodyLimit.ts';
import { errorBody, HTTP_STATUS } from '../../../../shared/http/errorBody.ts';
import { idempotentRequest } from '../../../../shared/http/idempotentRequest.ts';
import { stringifyLosslessJson } from '../../../../shared/core/losslessJson.ts';
import type { TokenBucketLimiter } from '../../../../shared/http/tokenBucketLimiter.ts';
import { isLayer, type Layer, registryPaths } from '../../../../shared/registry/registryRecords.ts';
import { diffLatency } from '../../../../shared/registry/registryMetrics.ts';
import type { Page } from '../../../../shared/registry/registryStore.ts';
import type { Dependencies } from '../../../../shared/runtime/dependencies.ts';

/** Request handling shared by the registry's routes, in the processing order of spec §4.4. */
export const REGISTRY_BASE = '/data-contract-registry/v1';
/** Refusals an Idempotency-Key keeps and replays, and the ingest metric counts (registry spec §7.5). */
export const KEPT_REFUSALS: ReadonlySet<ErrorCode> = new Set(['invalid_argument', 'not_found', 'conflict']);
export const LAYER_MESSAGE = 'layer must be one of extraction, raw, gold, activation';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const MAX_BODY_BYTES = 1024 * 1024;
const LEASE_MS = 30_000;

export type EndpointClass = 'write' | 'check' | 'read';

/**
 * Steps 3 and 4: the caller's token bucket for this endpoint (route template + method), then its role.
 * A write endpoint also gets the registry's 1 MiB body limit (step 6).
 */
export function endpoint(
  deps: Dependencies,
  limiter: TokenBucketLimiter,
  method: string,
  template: string,
  cls: EndpointClass,
  roles: Role[],
): MiddlewareHandler<AppEnv> {
  const limit = deps.config.registry.rateLimits[cls];
  const rateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
    const decision = limiter.take(`${c.get('principal').subject}|${method} ${template}`, limit);
    if (!decision.allowed)
      throw new ArcoError(
        'resource_exhausted',
        `rate limit exceeded for ${method} ${template}; retry after ${decision.retryAfterSeconds} s`,
        { retryable: true, limit: limit.rps, window_sec: 1 },
        { retryAfterSeconds: decision.retryAfterSeconds },
      );
    await next();
  };
  const chain: MiddlewareHandler<AppEnv>[] = [rateLimit, requireRole(...roles)];
  if (method === 'POST') chain.push(requestBodyLimit(MAX_BODY_BYTES));
  return every(...chain) as MiddlewareHandler<AppEnv>;
}

export function datasetIdParam(c: Context<AppEnv>, value = c.req.param('dataset_id')): string {
  if (!value || !UUID.test(value)) throw badRequest('dataset_id must be a UUID', { field: 'dataset_id' });
  return value.toLowerCase();
}

export function layerParam(value: string | undefined, field = 'layer'): Layer {
  if (!value || !isLayer(value)) throw badRequest(LAYER_MESSAGE, { field });
  return value;
}

/** A positive decimal integer, for `{version}`, `from`, `to`, `page` and `page_size`. */
export function positiveInt(value: string | undefined, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined || !/^[0-9]{1,15}$/.test(value) || Number(value) < 1 || Number(value) > max)
    throw badRequest(`${field} must be an integer between 1 and ${max}`, { field });
  return Number(value);
}

/** Spec §4.5: `page` ≥ 1, `page_size` 1–200, at most 10 000 items deep; never silently clamped. */
export function pageParams(c: Context<AppEnv>): Page {
  const page = positiveInt(c.req.query('page') || '1', 'page');
  const pageSize = positiveInt(c.req.query('page_size') || '50', 'page_size', 200);
  if (page * pageSize > 10_000)
    throw badRequest('page × page_size may not exceed 10000; narrow the filters instead', { field: 'page' });
  return { page, pageSize };
}

export const envelope = <T>(result: { items: T[]; total: number }, page: Page) => ({
  items: result.items,
  page: page.page,
  page_size: page.pageSize,
  total: result.total,
});

/** Rewrites ajv's enum message for `layer` into the registry's standard one. */
export function withLayerMessage<T>(validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    if (error instanceof ArcoError && error.details?.field === 'layer')
      throw badRequest(LAYER_MESSAGE, { ...error.details, field: 'layer' });
    throw error;
  }
}

/**
 * A JSON answer whose schema documents, defaults and diffs keep integers beyond 2^53 exact (they are
 * `bigint`s after the registry's lossless parse, which `c.json` cannot serialise).
 */
export function registryJson(c: Context<AppEnv>, body: object, status = 200): Response {
  return c.body(stringifyLosslessJson(body), status as 200, { 'Content-Type': 'application/json' });
}

export interface RegistryResult {
  status: number;
  body: object;
  headers?: Record<string, string>;
}

/**
 * Step 7 (spec §4.6): a creating POST with `Idempotency-Key` runs once per (principal, resource type,
 * key); its 2xx answer and the 400/404/409 of steps 8–10 replay byte for byte for 24 h.
 */
export async function idempotentCreate(
  c: Context<AppEnv>,
  deps: Dependencies,
  resourceType: 'dataset' | 'schema_version' | 'subscription',
  body: unknown,
  operation: () => Promise<RegistryResult>,
): Promise<Response> {
  const key = c.req.header('idempotency-key');
  const run = async () => {
    const result = await operation();
    return { status: result.status, body: stringifyLosslessJson(result.body), headers: result.headers ?? {} };
  };
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
    throw badRequest('Idempotency-Key must be 1–255 visible ASCII characters', { field: 'Idempotency-Key' });
  const principal = c.get('principal');
  const correlationId = c.get('requestId');
  const outcome = key
    ? await idempotentRequest(
        deps,
        {
          recordPath: registryPaths(principal.scope!).idempotency(principal.subject, resourceType, key),
          fingerprint: sha256Hex(`${c.req.method}\n${c.req.path}\n${canonicalJsonText(body)}`),
          correlationId,
          leaseMs: LEASE_MS,
          ttlMs: deps.config.registry.idempotencyTtlSeconds * 1000,
          keepsError: (error) => KEPT_REFUSALS.has(error.code),
          errorResponse: (error) => ({
            status: HTTP_STATUS[error.code],
            body: JSON.stringify(errorBody('registry', error, correlationId)),
            headers: {},
          }),
          describe: { principal: principal.subject, resource_type: resourceType, key },
        },
        run,
      )
    : { response: await run(), replayed: false };
  const { response, replayed } = outcome;
  if (response.status >= 400)
    c.set('errorCode', String((JSON.parse(response.body) as { code: string }).code));
  if (replayed) {
    c.set('replayed', true);
    c.get('log').info('dcr.request.replayed', { event: 'dcr.request.replayed', resource_type: resourceType });
  }
  return c.body(response.body, response.status as 200, {
    'Content-Type': 'application/json',
    ...response.headers,
    ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    ...(response.status >= 400 ? { 'Cache-Control': 'no-store' } : {}),
  });
}

const DOCUMENTED_FIELDS = [
  'dataset_id',
  'namespace',
  'name',
  'layer',
  'version',
  'schema_registry_id',
  'classification',
  'is_current',
  'consumer',
  'subscription_id',
] as const;

/** A registry domain log line (spec §11.2): every documented key present, null when not applicable. */
export function dcrEvent(
  c: Context<AppEnv>,
  event: string,
  fields: Partial<Record<(typeof DOCUMENTED_FIELDS)[number], unknown>> & Record<string, unknown>,
  severity: 'info' | 'warn' = 'info',
) {
  const line: Record<string, unknown> = { event };
  for (const key of DOCUMENTED_FIELDS) line[key] = fields[key] ?? null;
  c.get('log')[severity](event, { ...line, ...fields, at: new Date().toISOString() });
}

/** ComputeDiff time of this request: into `dcr_diff_latency_ms` and the request's completion line. */
export function recordDiffTime(c: Context<AppEnv>, layer: Layer, ms: number) {
  diffLatency.observe({ layer }, ms);
  c.set('diffMs', Math.round(((c.get('diffMs') ?? 0) + ms) * 100) / 100);
}
