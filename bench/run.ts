/**
 * `npm run bench`: benchmarks on the emulator stack. Each prints its figures and a ratio against a
 * baseline measured in the same run; nothing here asserts on time.
 */
import { startBenchStack } from './benchStack.ts';
import { benchColdStart } from './coldStart.bench.ts';
import { benchDag } from './dag.bench.ts';
import { benchLoad } from './load.bench.ts';
import { benchDeltaCommits } from './deltaCommits.bench.ts';
import { benchOrchestration } from './orchestration.bench.ts';
import { benchRegistry } from './registry.bench.ts';
import { benchStateStore } from './stateStore.bench.ts';

const benchmarks: Record<string, () => Promise<void>> = {
  delta: benchDeltaCommits,
  state: benchStateStore,
  orchestration: benchOrchestration,
  registry: benchRegistry,
  dag: benchDag,
  load: benchLoad,
};
/** Benchmarks that need no emulator stack. */
const standalone: Record<string, () => Promise<void>> = { 'cold-start': benchColdStart };
const only = process.argv.slice(2);
for (const [name, run] of Object.entries(standalone)) {
  if (!only.includes(name)) continue;
  console.log(`\n## ${name}`);
  await run();
}
if (only.length && only.every((name) => name in standalone)) process.exit(0);
const stack = await startBenchStack();
try {
  for (const [name, run] of Object.entries(benchmarks)) {
    if (only.length && !only.includes(name)) continue;
    console.log(`\n## ${name}`);
    await run();
  }
} finally {
  await stack.stop();
}
process.exit(0);
