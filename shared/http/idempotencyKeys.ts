import type { Context } from 'hono';
import type { Clock } from '../adapters/clock.ts';
import type { DocumentStore } from '../adapters/documentStore.ts';
import { stableJson } from '../core/canonicalJson.ts';
import { sha256Hex } from '../core/hashing.ts';
import { ArcoError } from '../core/arcoError.ts';
import type { AppEnv } from './appEnv.ts';
import { idempotentRequest } from './idempotentRequest.ts';

export interface IdempotentResult {
  status: number;
  body: unknown;
}

const IN_PROGRESS_MS = 60_000;
const REPLAY_WINDOW_MS = 24 * 3600_000;

/**
 * `Idempotency-Key` for an unsafe POST of `/api/v1`: the first request with a key runs and its answer is
 * kept for 24 h; the same key with the same body replays that answer (`replayStatus` when given); with
 * another body, 409. A failed request keeps nothing, so the client may retry with the same key.
 */
export async function withIdempotencyKey(
  c: Context<AppEnv>,
  store: { documents: DocumentStore; clock: Clock },
  route: string,
  body: unknown,
  run: () => Promise<IdempotentResult>,
  replayStatus?: number,
): Promise<Response> {
  const key = c.req.header('idempotency-key');
  if (!key) {
    const result = await run();
    return c.json(result.body as object, result.status as 200);
  }
  if (key.length > 256)
    throw new ArcoError('invalid_argument', 'Idempotency-Key must be at most 256 characters');
  const principal = c.get('principal');
  const scope = principal.scope!;
  const { response, replayed } = await idempotentRequest(
    store,
    {
      recordPath: `tenants/${scope.tenant}/workspaces/${scope.workspace}/idempotencyKeys/${sha256Hex(`${principal.subject}|${route}|${key}`)}`,
      fingerprint: sha256Hex(stableJson(body)),
      correlationId: c.get('requestId'),
      leaseMs: IN_PROGRESS_MS,
      ttlMs: REPLAY_WINDOW_MS,
      keepsError: () => false,
      errorResponse: () => {
        throw new Error('no error outcome is kept on this route');
      },
    },
    async () => {
      const result = await run();
      return { status: result.status, body: JSON.stringify(result.body), headers: {} };
    },
  );
  return c.body(response.body, (replayed ? (replayStatus ?? response.status) : response.status) as 200, {
    'Content-Type': 'application/json',
    ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
  });
}
