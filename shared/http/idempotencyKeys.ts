import type { Context } from 'hono';
import type { DocumentStore } from '../adapters/documentStore.ts';
import type { Clock } from '../adapters/clock.ts';
import { stableJson } from '../core/canonicalJson.ts';
import { sha256Hex } from '../core/hashing.ts';
import { ApiError, conflict } from './apiError.ts';
import type { AppEnv } from './appEnv.ts';

interface IdempotencyRecord {
  state: 'IN_PROGRESS' | 'COMPLETED';
  fingerprint: string;
  status?: number;
  body?: unknown;
  expiresAtMs: number;
}

export interface IdempotentResult {
  status: number;
  body: unknown;
}

const IN_PROGRESS_MS = 60_000;
const REPLAY_WINDOW_MS = 24 * 3600_000;

/**
 * `Idempotency-Key` for an unsafe POST: the first request with a key runs and its answer is kept for 24 h;
 * the same key with the same body replays that answer (`replayStatus` when given); with another body, 409.
 * A failed request keeps nothing, so the client may retry with the same key.
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
  const respond = (result: IdempotentResult, replayed = false) =>
    c.json(result.body as object, result.status as 200, replayed ? { 'Idempotent-Replayed': 'true' } : {});
  if (!key) return respond(await run());
  if (key.length > 256) throw new ApiError(400, 'Idempotency-Key must be at most 256 characters');
  const principal = c.get('principal');
  const scope = principal.scope!;
  const path = `tenants/${scope.tenant}/workspaces/${scope.workspace}/idempotencyKeys/${sha256Hex(`${principal.subject}|${route}|${key}`)}`;
  const fingerprint = sha256Hex(stableJson(body));
  const now = store.clock.now().getTime();
  const existing = await store.documents.getVersioned<IdempotencyRecord>(path);
  const live = existing && existing.data.expiresAtMs > now ? existing.data : null;
  if (live) {
    if (live.fingerprint !== fingerprint)
      throw conflict('Idempotency-Key was already used with a different request body', {
        reason: 'idempotency_key_reused',
      });
    if (live.state === 'COMPLETED')
      return respond({ status: replayStatus ?? live.status!, body: live.body }, true);
    throw new ApiError(
      409,
      'a request with this Idempotency-Key is still in progress',
      { reason: 'idempotency_key_in_progress' },
      undefined,
      {
        'Retry-After': '1',
      },
    );
  }
  const claimed = await store.documents.compareAndSet(
    path,
    { state: 'IN_PROGRESS', fingerprint, expiresAtMs: now + IN_PROGRESS_MS },
    existing?.version ?? null,
  );
  if (claimed.status !== 'written')
    throw new ApiError(
      409,
      'a request with this Idempotency-Key is in progress',
      { reason: 'idempotency_key_in_progress' },
      undefined,
      {
        'Retry-After': '1',
      },
    );
  let result: IdempotentResult;
  try {
    result = await run();
  } catch (error) {
    await store.documents.delete(path).catch(() => {});
    throw error;
  }
  await store.documents.set(path, {
    state: 'COMPLETED',
    fingerprint,
    status: result.status,
    body: result.body,
    expiresAtMs: store.clock.now().getTime() + REPLAY_WINDOW_MS,
  });
  return respond(result);
}
