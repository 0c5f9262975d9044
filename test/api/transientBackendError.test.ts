import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ObjectStoreRateLimitedError } from '../../shared/adapters/objectStore.ts';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { handleError } from '../../shared/http/errorHandler.ts';

/** An error as the Firestore client throws it: a gRPC status in `code`. */
const grpcError = (code: number) => Object.assign(new Error(`${code} status`), { code });

async function answerTo(error: Error) {
  const app = new Hono<AppEnv>();
  app.onError(handleError);
  app.get('/api/v1/thing', () => {
    throw error;
  });
  const response = await app.request('/api/v1/thing');
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: await response.json(),
  };
}

describe('a transient failure of a backing service', () => {
  it('answers 503 retryable, naming the kind, instead of 500', async () => {
    const contention = await answerTo(grpcError(10));
    expect(contention).toMatchObject({
      status: 503,
      retryAfter: '1',
      body: { details: { retryable: true, reason: 'backend_contention' } },
    });
    expect((await answerTo(grpcError(14))).body.details.reason).toBe('backend_unavailable');
    expect(
      (await answerTo(new ObjectStoreRateLimitedError('state/pointer.json', 'put', true))).body.details,
    ).toEqual({ retryable: true, reason: 'storage_rate_limited' });
  });

  it('leaves anything else a 500 that shows nothing of its own', async () => {
    const other = await answerTo(grpcError(3));
    expect(other.status).toBe(500);
    expect(JSON.stringify(other.body)).not.toContain('status');
    expect((await answerTo(new Error('boom'))).status).toBe(500);
  });
});
