/**
 * `npm run bench cold-start`: what a new instance of each function pays before it can answer, measured
 * in fresh Node processes. For every function: the time to import its entry point and the resident
 * memory after it, (a) as deployed, the esbuild bundle `npm run build` writes (dist/{fn}/index.js,
 * loaded through package.json "main") and (b) the baseline, its TypeScript sources compiled at start
 * through the tsx loader (how the suite deployed before compiled builds). Median of several runs each;
 * the ratio is build ÷ loader. No emulator is needed: importing creates clients but sends nothing.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { functionTargets } from '../local/functionHost.ts';

const ROOT = join(import.meta.dirname, '..');
const RUNS = Number(process.env.ARCO_BENCH_COLD_RUNS ?? 5);

interface Sample {
  importMs: number;
  rssMb: number;
}

/** One fresh process: import `entry` (with FUNCTION_TARGET set) and report time and RSS. */
function measure(target: string, entry: string, loaderArgs: string[]): Sample {
  const script = `const t0 = performance.now(); await import(${JSON.stringify(entry)}); const importMs = performance.now() - t0; console.log(JSON.stringify({ importMs, rssMb: process.memoryUsage().rss / 2 ** 20 })); process.exit(0);`;
  const output = execFileSync(process.execPath, [...loaderArgs, '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: {
      ...process.env,
      FUNCTION_TARGET: target,
      ARCO_LOCAL_SECRET: 'cold-start-bench',
      ARCO_LOG_LEVEL: 'silent',
    },
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').pop()!) as Sample;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function medianOf(target: string, entry: string, loaderArgs: string[]): Sample {
  const samples = Array.from({ length: RUNS }, () => measure(target, entry, loaderArgs));
  return { importMs: median(samples.map((s) => s.importMs)), rssMb: median(samples.map((s) => s.rssMb)) };
}

export async function benchColdStart(): Promise<void> {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
  console.log(`median of ${RUNS} fresh processes per figure (Node ${process.version})`);
  console.log('| function | build: import | build: RSS | loader: import | loader: RSS | import ratio |');
  console.log('|---|---|---|---|---|---|');
  for (const target of functionTargets()) {
    const built = medianOf(target, './index.mjs', []);
    const loader = medianOf(target, `./functions/${target}/index.ts`, ['--import', 'tsx']);
    console.log(
      `| ${target} | ${built.importMs.toFixed(0)} ms | ${built.rssMb.toFixed(0)} MB | ${loader.importMs.toFixed(0)} ms | ${loader.rssMb.toFixed(0)} MB | ${(built.importMs / loader.importMs).toFixed(2)} |`,
    );
  }
}
