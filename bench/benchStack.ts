import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmulatorStack, LOOPBACK_ONLY_ENV, startEmulators } from '../local/emulators.ts';

/** The local signing secret of every benchmark's function host (the Cloud Tasks stand-in signs with it). */
export const BENCH_SECRET = 'bench-local-secret';

/** The same emulator stack the tests use, for benchmarks. */
export async function startBenchStack(): Promise<EmulatorStack> {
  Object.assign(process.env, LOOPBACK_ONLY_ENV, {
    GOOGLE_CLOUD_PROJECT: 'demo-arco-bench',
    ARCO_LOG_LEVEL: 'silent',
  });
  const stack = await startEmulators({
    dataDir: mkdtempSync(join(tmpdir(), 'arco-bench-')),
    // As on the local stack: the stand-ins in their own process, Cloud Tasks presenting an internal
    // identity to internal targets.
    standInsProcess: { oidcSecret: BENCH_SECRET },
  });
  Object.assign(process.env, stack.env);
  return stack;
}

export function percentile(samples: number[], p: number): number {
  if (!samples.length) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const fmt = (n: number, digits = 1) => n.toFixed(digits);
