import { Storage } from '@google-cloud/storage';
import { startHostOnEmulators } from '../local/hostOnEmulators.ts';
import { mintLocalToken } from '../shared/auth/localTokens.ts';
import { mapLimit } from '../shared/core/mapLimit.ts';
import { BENCH_SECRET, fmt, percentile } from './benchStack.ts';
import { benchHttpClient } from './httpClient.ts';
import { startInstantWorker } from './instantWorker.ts';
import { countsSince, operationCounts } from './operationCounter.ts';
import { cpuBreakdown, stackCpuSeconds } from './stackCpu.ts';

const TASKS = ['load.a', 'load.b', 'load.c'];

const summary = (samples: number[]) =>
  `p50 ${fmt(percentile(samples, 50), 0)} / p95 ${fmt(percentile(samples, 95), 0)} / p99 ${fmt(percentile(samples, 99), 0)} ms (n=${samples.length})`;

/**
 * `npm run bench load`: a mixed load on the local stack for ARCO_BENCH_LOAD_SECONDS (60): 10 triggers/s
 * of a three-task chain and 100 reads/s of one run, open loop (requests are sent on schedule whatever
 * the answers take). Prints trigger and read latency percentiles, 5xx answers, how long the backlog
 * took to drain after the load stopped, the CPU the stack used and its storage operations per second
 * during the load, and whether every run ended SUCCEEDED with each task run once.
 * Baseline in the same run: reading one run with no load.
 */
export async function benchLoad(): Promise<void> {
  process.env.ARCO_LOG_LEVEL = 'silent';
  const bucket = `arco-bench-load-${Date.now()}`;
  await new Storage().createBucket(bucket);
  const host = await startHostOnEmulators({
    bucket,
    secret: BENCH_SECRET,
    pushToken: 'bench-push',
    processes: true,
  });
  const worker = await startInstantWorker();
  const workspace = 'load';
  const token = await mintLocalToken(BENCH_SECRET, { tenant: 'bench', workspace, roles: ['operator'] });
  const http = benchHttpClient();
  const call = async (method: string, path: string, body?: unknown) => {
    const started = performance.now();
    const response = await http.send(
      method,
      `${host.url}/api/v1/workspaces/${workspace}${path}`,
      { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body ? JSON.stringify(body) : undefined,
    );
    const json = JSON.parse(response.text) as Record<string, unknown>;
    return { status: response.status, body: json, ms: performance.now() - started };
  };
  await call('POST', '/manifests', {
    codeVersionId: 'bench',
    workerUrl: worker.url,
    assets: TASKS.map((key, i) => ({ key, dependencies: i ? [{ upstreamKey: TASKS[i - 1] }] : [] })),
  });
  // Baseline: one run read on an idle stack.
  const first = await call('POST', '/runs', { selection: ['load.a'], includeDownstream: true });
  const baselineRun = String(first.body.runId);
  await new Promise((r) => setTimeout(r, 2_000));
  const idleReads: number[] = [];
  for (let i = 0; i < 50; i += 1) idleReads.push((await call('GET', `/runs/${baselineRun}`)).ms);

  const seconds = Number(process.env.ARCO_BENCH_LOAD_SECONDS ?? 60);
  const runIds: string[] = [];
  const triggerMs: number[] = [];
  const readMs: number[] = [];
  let serverErrors = 0;
  let notYetVisible = 0;
  /** What the failures were: `500 INTERNAL`, `fetch failed`, … with a count each. */
  const failures = new Map<string, number>();
  const failed = (kind: string) => {
    serverErrors += 1;
    failures.set(kind, (failures.get(kind) ?? 0) + 1);
  };
  const inFlight = new Set<Promise<unknown>>();
  const fire = (work: () => Promise<void>) => {
    const promise = work()
      .catch((error: unknown) => failed(String((error as Error).cause ?? (error as Error).message)))
      .finally(() => inFlight.delete(promise));
    inFlight.add(promise);
  };
  const opsBefore = await operationCounts(host.url, token);
  const cpuBefore = stackCpuSeconds();
  const started = performance.now();
  for (let tick = 0; performance.now() - started < seconds * 1000; tick += 1) {
    const due = started + tick * 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (tick % 10 === 0)
      fire(async () => {
        const answer = await call('POST', '/runs', { selection: ['load.a'], includeDownstream: true });
        if (answer.status >= 500) failed(`${answer.status} ${String(answer.body.code)}`);
        else {
          triggerMs.push(answer.ms);
          runIds.push(String(answer.body.runId));
        }
      });
    fire(async () => {
      const runId = runIds.length ? runIds[Math.floor(Math.random() * runIds.length)]! : baselineRun;
      const answer = await call('GET', `/runs/${runId}`);
      if (answer.status >= 500) failed(`${answer.status} ${String(answer.body.code)}`);
      else if (answer.status === 404) notYetVisible += 1;
      else readMs.push(answer.ms);
    });
  }
  const loadEnded = performance.now();
  const cpuDuring = stackCpuSeconds();
  await Promise.all(inFlight);
  const opsDuring = countsSince(opsBefore, await operationCounts(host.url, token));
  const deadline = loadEnded + 600_000;
  const allDone = () => runIds.every((id) => TASKS.every((t) => worker.completedAt.has(`${id}/${t}`)));
  while (!allDone() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const executed = performance.now();
  const notExecuted = runIds.flatMap((id) =>
    TASKS.map((t) => `${id}/${t}`).filter((key) => !worker.completedAt.has(key)),
  );
  const states = new Map<string, string>();
  // Read every run's state at least once, even past the deadline, so the count below is what it is.
  do {
    const pending = runIds.filter((id) => states.get(id) !== 'SUCCEEDED');
    if (!pending.length) break;
    await mapLimit(pending, 16, async (id) => {
      states.set(id, String((await call('GET', `/runs/${id}`)).body.state));
    });
    if (runIds.some((id) => states.get(id) !== 'SUCCEEDED')) await new Promise((r) => setTimeout(r, 200));
  } while (performance.now() < deadline);
  const visible = performance.now();
  const succeeded = runIds.filter((id) => states.get(id) === 'SUCCEEDED').length;
  console.log(
    `mixed load for ${seconds} s: ${runIds.length} triggers (${runIds.length * TASKS.length} tasks), ${readMs.length + notYetVisible} reads`,
  );
  console.log(`trigger → 201: ${summary(triggerMs)}`);
  console.log(
    `read one run: ${summary(readMs)}; idle baseline ${summary(idleReads)}; ratio p99 ${fmt(percentile(readMs, 99) / percentile(idleReads, 99), 1)}`,
  );
  console.log(
    `5xx or failed requests: ${serverErrors}${failures.size ? ` (${[...failures].map(([k, n]) => `${n}× ${k}`).join(', ')})` : ''}; reads of a run not yet visible (404): ${notYetVisible}`,
  );
  console.log(
    `backlog after the load: every task executed ${fmt((executed - loadEnded) / 1000, 1)} s later, every run readable SUCCEEDED ${fmt((visible - loadEnded) / 1000, 1)} s later`,
  );
  const loadSeconds = (loadEnded - started) / 1000;
  const perSecond = [...opsDuring.byOperation]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${kind} ${fmt(n / loadSeconds, 0)}`)
    .join(', ');
  const cores =
    cpuBefore === null || cpuDuring === null
      ? 'n/a'
      : fmt((cpuDuring.total - cpuBefore.total) / loadSeconds, 2);
  console.log(`during the load: the stack used ${cores} cores; storage operations per second: ${perSecond}`);
  console.log(`CPU ms per second of load by process: ${cpuBreakdown(cpuBefore, cpuDuring, loadSeconds)}`);
  console.log(
    `runs SUCCEEDED ${succeeded}/${runIds.length}; duplicate deliveries ${worker.duplicateDeliveries}; callbacks sent again ${worker.retriedCallbacks.length}`,
  );
  if (notExecuted.length)
    console.log(
      `tasks not executed 10 minutes after the load: ${notExecuted.length} (${notExecuted.filter((key) => !worker.dispatchedAt.has(key)).length} never delivered to the worker), e.g. ${notExecuted.slice(0, 3).join(', ')}`,
    );
  http.close();
  await worker.close();
  await host.close();
}
