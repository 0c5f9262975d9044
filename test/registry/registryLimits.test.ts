import { beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../local/functionApps.ts';
import { ManualClock } from '../../shared/adapters/clock.ts';
import { registryPaths } from '../../shared/registry/registryRecords.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';
import { apiClient } from '../support/apiClient.ts';
import { bearer, testDependencies, uniqueName } from '../support/testDependencies.ts';

const BASE = '/data-contract-registry/v1';

describe('registry rate limits and Idempotency-Key lifecycle', () => {
  const clock = new ManualClock(new Date('2026-11-23T09:00:00.000Z'));
  const workspace = uniqueName('w');
  let deps: Dependencies;
  let app: ReturnType<typeof createGatewayApp>;
  let producer: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    const base = await testDependencies({ clock });
    deps = {
      ...base,
      config: {
        ...base.config,
        registry: {
          idempotencyTtlSeconds: 3600,
          rateLimits: {
            write: { rps: 1, burst: 3 },
            check: { rps: 1, burst: 1 },
            read: { rps: 100, burst: 100 },
          },
        },
      },
    };
    app = createGatewayApp(deps);
    producer = apiClient(
      app,
      await bearer({ tenant: 't', workspace, roles: ['producer'], subject: 'svc-a@svc' }),
    );
  });

  it('answers 429 with Retry-After per principal and endpoint, and refills over time', async () => {
    const body = (name: string) => ({ namespace: 'rl', name, owner: 'o' });
    for (let i = 0; i < 3; i++)
      expect((await producer.post(`${BASE}/datasets`, body(`d${i}`))).status).toBe(201);
    const limited = await producer.post(`${BASE}/datasets`, body('d3'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body).toMatchObject({
      code: 'rate_limited',
      details: { retryable: true, limit: 1, window_sec: 1 },
    });
    // Another endpoint class and another principal have buckets of their own.
    expect((await producer.get(`${BASE}/datasets`)).status).toBe(200);
    const other = apiClient(
      app,
      await bearer({ tenant: 't', workspace, roles: ['producer'], subject: 'svc-b@svc' }),
    );
    expect((await other.post(`${BASE}/datasets`, body('d4'))).status).toBe(201);
    clock.advance(1000);
    expect((await producer.post(`${BASE}/datasets`, body('d3'))).status).toBe(201);
  });

  it('refuses a key whose first request is in flight, takes over a crashed lease, and frees a key after its TTL', async () => {
    clock.advance(60_000);
    const key = crypto.randomUUID();
    const recordPath = registryPaths({ tenant: 't', workspace }).idempotency('svc-a@svc', 'dataset', key);
    const request = { namespace: 'idem', name: 'lease', owner: 'o' };
    // A request that claimed the key and crashed before completing it.
    const fingerprintSource = await producer.post(`${BASE}/datasets`, request, { 'Idempotency-Key': key });
    expect(fingerprintSource.status).toBe(201);
    const completed = (await deps.documents.get<Record<string, unknown>>(recordPath))!.data;
    await deps.documents.set(recordPath, {
      ...completed,
      state: 'in_progress',
      lease_expires_at_ms: clock.now().getTime() + 30_000,
    });
    const busy = await producer.post(`${BASE}/datasets`, request, { 'Idempotency-Key': key });
    expect(busy.status).toBe(409);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(busy.body).toMatchObject({ details: { reason: 'idempotency_key_in_progress' } });
    clock.advance(31_000);
    // The lease expired: the retry runs the operation again, which finds the dataset it created.
    const takenOver = await producer.post(`${BASE}/datasets`, request, { 'Idempotency-Key': key });
    expect(takenOver.status).toBe(409);
    expect(takenOver.body).toMatchObject({
      details: { reason: 'duplicate', existing_id: fingerprintSource.body.dataset_id },
    });
    const replay = await producer.post(`${BASE}/datasets`, request, { 'Idempotency-Key': key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(takenOver.body);
    // After the TTL the key is free: a different payload now runs normally.
    clock.advance(3601_000);
    const reused = await producer.post(
      `${BASE}/datasets`,
      { ...request, name: 'after-ttl' },
      { 'Idempotency-Key': key },
    );
    expect(reused.status).toBe(201);
  });
});
