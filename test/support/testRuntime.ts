import { Failpoints } from '../../shared/core/failpoints.ts';
import { LocalTokenVerifier } from '../../shared/auth/localTokens.ts';
import { createLogger, type LogSink } from '../../shared/observability/logger.ts';
import { parseCompactionHint } from '../../shared/orchestration/state/compactionHint.ts';
import { compactorFor } from '../../shared/orchestration/orchestrationServices.ts';
import { loadConfig, type RuntimeConfig } from '../../shared/runtime/config.ts';
import type { Dependencies } from '../../shared/runtime/dependencies.ts';

/**
 * What the emulator-backed and the in-memory test dependencies share, in a module that loads no cloud
 * client (the pure tier imports it).
 */
export const TEST_SECRET = 'test-secret-for-local-tokens-only';

/** The local-stack configuration of a test: small bodies, a publish after every fold, test secrets. */
export function testConfig(env: NodeJS.ProcessEnv): RuntimeConfig {
  return {
    ...loadConfig({ ...env, ARCO_LOCAL_STACK: '1', ARCO_AUTH_MODE: 'local' }),
    maxBodyBytes: 64 * 1024,
    // Publish after every fold: these tests read what they just wrote; the cadence has tests of its own.
    publishIntervalMs: 0,
    pushToken: 'test-push-token',
    taskTokenSecret: 'test-task-token-secret',
  };
}

/** Failpoints armed on demand, local tokens under TEST_SECRET, and a logger silent unless given a sink. */
export function testServices(logSink?: LogSink): Pick<Dependencies, 'failpoints' | 'tokens' | 'log'> {
  return {
    failpoints: new Failpoints(true),
    tokens: new LocalTokenVerifier(TEST_SECRET),
    log: createLogger({}, logSink ?? (() => {}), logSink ? 'DEBUG' : 'SILENT'),
  };
}

/**
 * Delivers a compaction hint (a Cloud Task body) to this process's scheduler of `deps`, as the queue
 * would, without waiting: tests have no HTTP host for Cloud Tasks to reach. A failed fold is left to
 * the scheduler's scan, as with a lost hint.
 */
export function deliverHintInProcess(deps: Dependencies, body: unknown): void {
  const hint = parseCompactionHint(body);
  if (!hint) return;
  void compactorFor(deps, { tenant: hint.tenant, workspace: hint.workspace })
    .hint(hint.batches)
    .catch(() => {});
}
