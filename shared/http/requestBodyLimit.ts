import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ArcoError } from '../core/arcoError.ts';
import type { AppEnv } from './appEnv.ts';

/**
 * Refuses a request body over `maxBytes` with 413 `payload_too_large` (the API's error body), through
 * hono's bodyLimit, but without building a web Request where no body needs counting: GET and HEAD
 * carry none, and a body whose Content-Length is declared (without Transfer-Encoding; Node reads no
 * more than it declares) is judged by that header. hono's node adapter builds a full Request the
 * moment anything reads `c.req.raw.body`, which bodyLimit always does: that was the largest single
 * cost of `GET /runs/{id}` in the api process under `npm run bench load`.
 */
export function requestBodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => {
    throw new ArcoError('payload_too_large', `request body exceeds ${maxBytes} bytes`);
  };
  const counted = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared === undefined || c.req.header('transfer-encoding') !== undefined) return counted(c, next);
    return Number.parseInt(declared, 10) > maxBytes ? tooLarge() : next();
  };
}
