import { beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../local/functionApps.ts';
import { bearer, testDependencies } from '../support/testDependencies.ts';

describe('HTTP foundation of the api function', () => {
  const lines: Array<Record<string, unknown>> = [];
  let app: ReturnType<typeof createGatewayApp>;
  let deps: Awaited<ReturnType<typeof testDependencies>>;
  beforeAll(async () => {
    deps = await testDependencies({}, (line) => lines.push(JSON.parse(line)));
    app = createGatewayApp(deps);
  });

  it('answers /healthz without auth', async () => {
    const response = await app.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('echoes a caller request id and mints a ULID otherwise', async () => {
    const echoed = await app.request('/api/v1/whoami', { headers: { 'X-Request-Id': 'req-12345678' } });
    expect(echoed.headers.get('x-request-id')).toBe('req-12345678');
    expect(await echoed.json()).toMatchObject({ requestId: 'req-12345678' });
    const minted = await app.request('/api/v1/whoami');
    expect(minted.headers.get('x-request-id')).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    // Also on answers no handler built: an error, a route that does not exist, a metrics scrape.
    for (const path of ['/api/v1/workspaces/w/runs', '/api/v1/no-such-route', '/metrics']) {
      const response = await app.request(path, { headers: { 'X-Request-Id': 'req-87654321' } });
      expect(response.headers.get('x-request-id'), path).toBe('req-87654321');
    }
  });

  it('speaks the registry error dialect under /data-contract-registry', async () => {
    const response = await app.request('/data-contract-registry/v1/datasets', {
      headers: { 'X-Correlation-Id': 'corr-abcdef12' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-correlation-id')).toBe('corr-abcdef12');
    expect(await response.json()).toEqual({
      code: 'unauthorized',
      message: 'missing bearer token',
      correlation_id: 'corr-abcdef12',
    });
    const minted = await app.request('/data-contract-registry/v1/datasets');
    expect((await minted.json()).correlation_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('answers unknown routes with 404 in the error body', async () => {
    const response = await app.request('/api/v1/nothing-here', {
      headers: await bearer({ tenant: 't', workspace: 'w' }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('validates bodies with readable 400s, and refuses non-JSON (415) and oversized bodies (413)', async () => {
    const headers = { ...(await bearer({ internal: true })), 'content-type': 'application/json' };
    const invalid = await app.request('/internal/failpoints', {
      method: 'POST',
      headers,
      body: '{"Bad Name":1}',
    });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({
      code: 'BAD_REQUEST',
      details: { errors: expect.any(Array) },
    });
    const wrongType = await app.request('/internal/failpoints', {
      method: 'POST',
      headers,
      body: '{"a":"x"}',
    });
    expect(await wrongType.json()).toMatchObject({
      message: 'request body: a must be integer',
      details: { field: 'a' },
    });
    const notJson = await app.request('/internal/failpoints', { method: 'POST', headers, body: '{nope' });
    expect(notJson.status).toBe(400);
    const textPlain = await app.request('/internal/failpoints', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(textPlain.status).toBe(415);
    const huge = await app.request('/internal/failpoints', {
      method: 'POST',
      headers,
      body: JSON.stringify({ a: 'x'.repeat(deps.config.maxBodyBytes) }),
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('refuses JSON bodies that are empty, not UTF-8 or in another charset, in the error body', async () => {
    const headers = { ...(await bearer({ internal: true })), 'content-type': 'application/json' };
    const post = (body: BodyInit, extra: Record<string, string> = {}) =>
      app.request('/internal/failpoints', { method: 'POST', headers: { ...headers, ...extra }, body });
    const empty = await post('');
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'empty_body' } });
    const latin1 = await post(new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
    expect(latin1.status).toBe(400);
    expect(await latin1.json()).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'invalid_utf8' } });
    const charset = await post('{}', { 'content-type': 'application/json; charset=iso-8859-1' });
    expect(charset.status).toBe(415);
    expect(await charset.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    const malformed = await post('{"selection": [');
    expect(await malformed.json()).toMatchObject({
      code: 'BAD_REQUEST',
      details: { reason: 'malformed_json' },
    });
  });

  it('arms failpoints at run time and reports them', async () => {
    const headers = { ...(await bearer({ internal: true })), 'content-type': 'application/json' };
    const armed = await app.request('/internal/failpoints', {
      method: 'POST',
      headers,
      body: '{"delta.after_log":2}',
    });
    expect(await armed.json()).toEqual({ armed: { 'delta.after_log': 2 } });
    expect(() => deps.failpoints.hit('delta.after_log')).toThrow('injected fault at delta.after_log');
    expect(() => deps.failpoints.hit('delta.after_log')).toThrow();
    expect(() => deps.failpoints.hit('delta.after_log')).not.toThrow();
  });

  it('exports api_request_duration_ms and writes one structured log line per request', async () => {
    await app.request('/api/v1/workspaces/w', { headers: await bearer({ tenant: 't', workspace: 'w' }) });
    expect((await app.request('/metrics')).status).toBe(401);
    const consumer = await bearer({ tenant: 't', workspace: 'w', roles: ['consumer'] });
    expect((await app.request('/metrics', { headers: consumer })).status).toBe(403);
    const operator = await bearer({ tenant: 't', workspace: 'w', roles: ['operator'] });
    const metrics = await (await app.request('/metrics', { headers: operator })).text();
    expect(metrics).toMatch(
      /api_request_duration_ms_count\{route="\/api\/v1\/workspaces\/:workspaceId",method="GET",status="200"\} \d+/,
    );
    const line = lines.find(
      (l) => (l.httpRequest as { requestUrl?: string })?.requestUrl === '/api/v1/workspaces/w',
    );
    expect(line).toMatchObject({
      severity: 'INFO',
      message: 'request',
      requestId: expect.any(String),
      route: '/api/v1/workspaces/:workspaceId',
    });
  });
});
