import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Storage } from '@google-cloud/storage';
import { startHostOnEmulators } from '../local/hostOnEmulators.ts';
import { mintLocalToken } from '../shared/auth/localTokens.ts';
import { ledgerFor, readerFor } from '../shared/orchestration/orchestrationServices.ts';
import { dependencies } from '../shared/runtime/dependencies.ts';
import { BENCH_SECRET, fmt, percentile } from './benchStack.ts';
import { startInstantWorker } from './instantWorker.ts';
import { cpuBreakdown, stackCpuSeconds } from './stackCpu.ts';
import { countsSince, operationCounts, shortestPointerInterval } from './operationCounter.ts';

const SECRET = BENCH_SECRET;

interface Asset {
  key: string;
  dependencies: Array<{ upstreamKey: string }>;
}

const dep = (upstreamKey: string) => ({ upstreamKey });
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** The issue's three shapes: a chain, a layered grid with three upstreams each, a fan-out/fan-in. */
export function dagShapes(): Array<{ name: string; assets: Asset[] }> {
  const chain = Array.from({ length: 200 }, (_, i) => ({
    key: `chain.c${pad(i, 3)}`,
    dependencies: i === 0 ? [] : [dep(`chain.c${pad(i - 1, 3)}`)],
  }));
  const grid = Array.from({ length: 10 }, (_, layer) =>
    Array.from({ length: 100 }, (_, j) => ({
      key: `grid.l${layer}_t${pad(j, 2)}`,
      dependencies:
        layer === 0 ? [] : [j, j + 33, j + 66].map((k) => dep(`grid.l${layer - 1}_t${pad(k % 100, 2)}`)),
    })),
  ).flat();
  const fanOut = (prefix: string, width: number) => {
    const middle = Array.from({ length: width }, (_, i) => ({
      key: `${prefix}.m${pad(i, 4)}`,
      dependencies: [dep(`${prefix}.root`)],
    }));
    return [
      { key: `${prefix}.root`, dependencies: [] },
      ...middle,
      { key: `${prefix}.sink`, dependencies: middle.map((m) => dep(m.key)) },
    ];
  };
  return [
    { name: 'chain of 200', assets: chain },
    { name: '10 layers × 100, 3 upstreams each', assets: grid },
    // The same shape at 10 tasks: ops per task must not depend on the run's size.
    { name: 'fan-out 1 → 8 → 1', assets: fanOut('fan10', 8) },
    { name: 'fan-out 1 → 1 000 → 1', assets: fanOut('fan', 1000) },
  ];
}

/**
 * The floor of this stack, measured in the same run: one ledger append (create-only event object and
 * its pending record) plus one Cloud Task created and delivered to a local HTTP target.
 */
async function measureFloor(samples: number): Promise<number> {
  const deps = dependencies();
  const scope = { tenant: 'bench', workspace: 'floor' };
  const ledger = ledgerFor(deps, scope, { hint: false });
  const delivered = new Map<string, () => void>();
  const target = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: string };
      delivered.get(id)?.();
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;
  const times: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const id = `floor-${i}`;
    const arrived = new Promise<void>((resolve) => delivered.set(id, resolve));
    const t0 = performance.now();
    await ledger.append([
      { data: { type: 'run_triggered', runId: id, planId: id, trigger: {}, rootAssets: [] } },
    ]);
    await deps.tasks.enqueue({ queue: 'arco-dispatch', url, body: { id } });
    await arrived;
    times.push(performance.now() - t0);
  }
  target.closeAllConnections();
  target.close();
  return percentile(times, 50);
}

/** The stack's counters once two readings 2 s apart agree on storage calls (at most 5 tries). */
async function settledCounts(baseUrl: string, token: string) {
  let last = await operationCounts(baseUrl, token);
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const now = await operationCounts(baseUrl, token);
    if (now.gcs === last.gcs && now.firestore === last.firestore) return now;
    last = now;
  }
  return last;
}

/**
 * `npm run bench dag`: the issue's three DAG shapes with a worker that succeeds at once. Per shape:
 * wall time (trigger → run SUCCEEDED readable), dependency hop p50/p95 (dependent's dispatch received
 * by the worker − last upstream's completion answered), tasks/s, pointer moves per second and the
 * shortest interval between two; per task, GCS operations (until the stack went quiet after the run,
 * publishes included, and until the last completion, mostly the events' own cost), the Firestore
 * documents read, written and deleted (what Firestore bills) and Firestore calls, all from the
 * stack's aggregated `/metrics`; the CPU ms the whole stack spent per task (every process under the
 * bench, emulators included; Linux only); and the floor of this stack with the ratio hop p50 / floor.
 * Every function runs in a process of its own, as on `npm start`.
 */
export async function benchDag(): Promise<void> {
  process.env.ARCO_LOG_LEVEL = 'silent';
  const bucket = `arco-bench-dag-${Date.now()}`;
  await new Storage().createBucket(bucket);
  const host = await startHostOnEmulators({
    bucket,
    secret: SECRET,
    pushToken: 'bench-push',
    processes: true,
  });
  const worker = await startInstantWorker();
  const workspace = 'dag';
  const token = await mintLocalToken(SECRET, { tenant: 'bench', workspace, roles: ['operator'] });
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${host.url}/api/v1/workspaces/${workspace}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  // ARCO_BENCH_SHAPES=chain,fan runs only the shapes whose names contain one of the words.
  const only = (process.env.ARCO_BENCH_SHAPES ?? '').split(',').filter(Boolean);
  const shapes = dagShapes().filter((s) => !only.length || only.some((word) => s.name.includes(word)));
  const deployed = await api('POST', '/manifests', {
    codeVersionId: 'bench',
    workerUrl: worker.url,
    assets: shapes.flatMap((s) => s.assets),
  });
  if (deployed.status >= 300) throw new Error(`manifest refused: ${JSON.stringify(deployed.body)}`);

  const floor = await measureFloor(30);
  const reader = readerFor(dependencies(), { tenant: 'bench', workspace });
  console.log(`floor (ledger append + Cloud Task create → delivery): p50 ${fmt(floor, 1)} ms`);
  console.log(
    '| shape | wall | last completion | hop p50 / p95 | hop p50 ÷ floor | tasks/s | pointer moves/s (shortest interval) | GCS ops/task with publishes (until last completion) | Firestore documents/task (calls/task) | stack CPU ms/task |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  const breakdowns: string[] = [];
  const cpuLines: string[] = [];
  for (const shape of shapes) {
    const roots = shape.assets.filter((a) => a.dependencies.length === 0).map((a) => a.key);
    const before = await operationCounts(host.url, token);
    const cpuBefore = stackCpuSeconds();
    const started = performance.now();
    const trigger = await api('POST', '/runs', { selection: roots, includeDownstream: true });
    const runId = String(trigger.body.runId);
    const total = shape.assets.length;
    const deadline = started + 600_000;
    const done = () => shape.assets.every((a) => worker.completedAt.has(`${runId}/${a.key}`));
    while (!done() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const lastCompletion = performance.now();
    const untilLastCompletion = countsSince(before, await operationCounts(host.url, token));
    const cpuAfter = stackCpuSeconds();
    const cpuPerTask =
      cpuBefore === null || cpuAfter === null
        ? 'n/a'
        : fmt(((cpuAfter.total - cpuBefore.total) * 1000) / total, 1);
    // Visibility is watched from this process's own reader, whose storage reads the stack's counters
    // do not see: polling through the API would bill the run for the bench's reads.
    while (performance.now() < deadline) {
      const [row] = await (await reader.snapshot()).rowsOf('runs', runId);
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(String(row?.state))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const visible = performance.now();
    // The run's cost includes what follows its visibility (folded pending records deleted after the
    // publish), so storage is read once the stack has gone quiet.
    const ops = countsSince(before, await settledCounts(host.url, token));
    const state = String((await api('GET', `/runs/${runId}`)).body.state);
    const hops = shape.assets
      .filter((a) => a.dependencies.length)
      .map(
        (a) =>
          worker.dispatchedAt.get(`${runId}/${a.key}`)! -
          Math.max(...a.dependencies.map((d) => worker.completedAt.get(`${runId}/${d.upstreamKey}`)!)),
      )
      .filter((h) => Number.isFinite(h));
    const wallS = (visible - started) / 1000;
    const seconds = Math.max(1, (lastCompletion - started) / 1000);
    console.log(
      `| ${shape.name} | ${fmt(wallS, 2)} s (${state}) | ${fmt((lastCompletion - started) / 1000, 2)} s | ` +
        `${fmt(percentile(hops, 50), 1)} / ${fmt(percentile(hops, 95), 1)} ms | ${fmt(percentile(hops, 50) / floor, 2)} | ` +
        `${fmt(total / ((lastCompletion - started) / 1000), 0)} | ${fmt(ops.pointerMoves / seconds, 2)} (${shortestPointerInterval(ops)}) | ` +
        `${fmt(ops.gcs / total, 1)} (${fmt(untilLastCompletion.gcs / total, 1)}) | ${fmt(ops.firestoreDocuments / total, 1)} (${fmt(ops.firestore / total, 1)}) | ${cpuPerTask} |`,
    );
    const kinds = [...ops.byOperation].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    breakdowns.push(`${shape.name}: ${kinds.map(([kind, n]) => `${kind} ${fmt(n / total, 2)}`).join(', ')}`);
    cpuLines.push(`${shape.name}: ${cpuBreakdown(cpuBefore, cpuAfter, total)}`);
  }
  console.log(`storage operations per task by kind:\n${breakdowns.map((line) => `- ${line}`).join('\n')}`);
  console.log(`stack CPU ms/task by process:\n${cpuLines.map((line) => `- ${line}`).join('\n')}`);
  console.log(
    `duplicate deliveries: ${worker.duplicateDeliveries}; callbacks sent again after a refusal: ${worker.retriedCallbacks.length}` +
      (worker.retriedCallbacks.length ? ` (${worker.retriedCallbacks.slice(0, 3).join('; ')})` : ''),
  );
  await worker.close();
  await host.close();
}
