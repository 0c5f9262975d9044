import { join } from 'node:path';

/**
 * Node options that make a process of the local stack write a V8 CPU profile when it stops, under
 * `{ARCO_CPU_PROFILE_DIR}/{name}/` (for Chrome DevTools): where a function's or the stand-ins' time
 * goes under a benchmark. None when ARCO_CPU_PROFILE_DIR is unset.
 */
export function profiling(name: string): string[] {
  const dir = process.env.ARCO_CPU_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`] : [];
}
