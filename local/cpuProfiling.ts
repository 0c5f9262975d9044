import { join } from 'node:path';

/**
 * Node options that make a process of the local stack write a V8 CPU profile when it stops, under
 * `{ARCO_CPU_PROFILE_DIR}/{name}/` (for Chrome DevTools): where a function's or the stand-ins' time
 * goes under a benchmark. None when ARCO_CPU_PROFILE_DIR is unset, or when ARCO_CPU_PROFILE_PROCESSES
 * (comma-separated names: `api,stand-ins`) leaves this process out: profiling slows a process about
 * threefold, so profiling one keeps the others' pace under a load.
 */
export function profiling(name: string): string[] {
  const dir = process.env.ARCO_CPU_PROFILE_DIR;
  const only = process.env.ARCO_CPU_PROFILE_PROCESSES?.split(',').map((p) => p.trim());
  if (!dir || (only && !only.includes(name))) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`];
}
