import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../../shared/http/appEnv.ts';

/** `dcr.request.completed` for every registry request (spec §11.2): route, method, status, latency, who. */
export const requestCompletedLog: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  try {
    await next();
  } finally {
    c.get('log').info('dcr.request.completed', {
      event: 'dcr.request.completed',
      route: c.req.routePath,
      method: c.req.method,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      principal: c.get('principal')?.subject ?? null,
      error_code: c.get('errorCode') ?? null,
    });
  }
};
