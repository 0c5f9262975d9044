import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../shared/http/appEnv.ts';
import { handleError } from '../../shared/http/errorHandler.ts';
import { requestBodyLimit } from '../../shared/http/requestBodyLimit.ts';

function app() {
  const app = new Hono<AppEnv>();
  app.use('*', requestBodyLimit(10));
  app.onError(handleError);
  app.all('/echo', async (c) => c.json({ bytes: (await c.req.text()).length }));
  return app;
}

/** A body of `bytes` bytes sent as a stream, so no Content-Length is declared. */
const streamed = (bytes: number) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('x'.repeat(bytes)));
      controller.close();
    },
  });

describe('requestBodyLimit', () => {
  it('judges a declared Content-Length by the header, and counts a body that declares none', async () => {
    const post = (body: BodyInit, headers: Record<string, string> = {}) =>
      app().request('/echo', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
    expect((await post('x'.repeat(10), { 'content-length': '10' })).status).toBe(200);
    const declared = await post('x'.repeat(5), { 'content-length': '11' });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect((await post(streamed(10))).status).toBe(200);
    expect((await post(streamed(11))).status).toBe(413);
  });

  it('lets GET and HEAD through without looking for a body', async () => {
    expect((await app().request('/echo')).status).toBe(200);
    expect((await app().request('/echo', { method: 'HEAD' })).status).toBe(200);
  });
});
