import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../../shared/http/appEnv.ts';
import { collectStoreTotals } from '../../../../shared/registry/instrumentedDocumentStore.ts';

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * `dcr.request.completed` for every registry request (spec §11.2): route, method, status, latency and
 * who, plus the request's store time and diff time, which GCP's log-based metrics turn into
 * `registry_store_*` and `dcr_diff_latency_ms`.
 */
export const requestCompletedLog: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  const { totals, done } = collectStoreTotals(() => next());
  try {
    await done;
  } finally {
    c.get('log').info('dcr.request.completed', {
      event: 'dcr.request.completed',
      route: c.req.routePath,
      method: c.req.method,
      status: c.res.status,
      duration_ms: round(performance.now() - started),
      principal: c.get('principal')?.subject ?? null,
      error_code: c.get('errorCode') ?? null,
      store_ms: round(totals.read_ms + totals.write_ms),
      store_read_ms: round(totals.read_ms),
      store_write_ms: round(totals.write_ms),
      store_calls: totals.calls,
      store_errors: totals.errors,
      diff_ms: c.get('diffMs') ?? null,
    });
  }
};
