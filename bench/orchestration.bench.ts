import { Storage } from '@google-cloud/storage';
import { startHostOnEmulators } from '../local/hostOnEmulators.ts';
import { mintLocalToken } from '../shared/auth/localTokens.ts';
import { BENCH_SECRET, fmt, percentile } from './benchStack.ts';
import { startInstantWorker } from './instantWorker.ts';

const SECRET = BENCH_SECRET;

/**
 * Orchestration latencies on the emulator stack with a worker that succeeds at once (so what is measured
 * is the orchestrator): trigger → first dispatch, upstream success → downstream dispatch, a 200-task DAG.
 * Baseline: one create-only GCS write plus one Firestore read, the floor of any durable step.
 */
export async function benchOrchestration(): Promise<void> {
  process.env.ARCO_LOG_LEVEL = 'silent';
  const bucket = `arco-bench-orch-${Date.now()}`;
  await new Storage().createBucket(bucket);
  const host = await startHostOnEmulators({ bucket, secret: SECRET, pushToken: 'bench-push' });

  const worker = await startInstantWorker();
  const { dispatchedAt, completedAt, retriedCallbacks } = worker;
  const workerUrl = worker.url;
  const token = await mintLocalToken(SECRET, { tenant: 'bench', workspace: 'orch', roles: ['operator'] });
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${host.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await response.json()) as Record<string, unknown>;
  };
  const waitTerminal = async (runId: string, timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const run = await api('GET', `/api/v1/workspaces/orch/runs/${runId}`);
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(String(run.state))) return run;
      await new Promise((r) => setTimeout(r, 50));
    }
    const run = await api('GET', `/api/v1/workspaces/orch/runs/${runId}`);
    const stuck = (run.tasks as Array<{ taskKey: string; state: string }>).filter(
      (t) => !['SUCCEEDED'].includes(t.state),
    );
    throw new Error(
      `run ${runId} did not finish in ${timeoutMs} ms: ${JSON.stringify(run.taskCounts)} ${JSON.stringify(stuck.slice(0, 5))}`,
    );
  };

  // A two-step chain, many times: trigger → first dispatch, and a → b hand-off.
  const layers = Number(process.env.ARCO_BENCH_DAG_LAYERS ?? 20);
  const width = Number(process.env.ARCO_BENCH_DAG_WIDTH ?? 10);
  const dag = Array.from({ length: layers }, (_, l) =>
    Array.from({ length: width }, (_, w) => ({
      key: `dag.l${String(l).padStart(2, '0')}_t${w}`,
      dependencies: l === 0 ? [] : [{ upstreamKey: `dag.l${String(l - 1).padStart(2, '0')}_t${w}` }],
    })),
  ).flat();
  await api('POST', '/api/v1/workspaces/orch/manifests', {
    codeVersionId: 'bench',
    workerUrl,
    assets: [{ key: 'chain.a' }, { key: 'chain.b', dependencies: [{ upstreamKey: 'chain.a' }] }, ...dag],
  });
  const firstDispatch: number[] = [];
  const handOff: number[] = [];
  const runs = Number(process.env.ARCO_BENCH_CHAIN_RUNS ?? 20);
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    const { runId } = (await api('POST', '/api/v1/workspaces/orch/runs', {
      selection: ['chain.a'],
      includeDownstream: true,
    })) as { runId: string };
    await waitTerminal(runId, 60_000);
    firstDispatch.push(dispatchedAt.get(`${runId}/chain.a`)! - started);
    handOff.push(dispatchedAt.get(`${runId}/chain.b`)! - completedAt.get(`${runId}/chain.a`)!);
  }
  console.log(
    `trigger → first dispatch (${runs} runs): p50 ${fmt(percentile(firstDispatch, 50), 0)} ms, p95 ${fmt(percentile(firstDispatch, 95), 0)} ms`,
  );
  console.log(
    `upstream success → downstream dispatch: p50 ${fmt(percentile(handOff, 50), 0)} ms, p95 ${fmt(percentile(handOff, 95), 0)} ms`,
  );

  const started = performance.now();
  const roots = dag.filter((a) => a.dependencies.length === 0).map((a) => a.key);
  const { runId } = (await api('POST', '/api/v1/workspaces/orch/runs', {
    selection: roots,
    includeDownstream: true,
  })) as { runId: string };
  const run = await waitTerminal(runId, Number(process.env.ARCO_BENCH_DAG_TIMEOUT_MS ?? 600_000));
  const wall = performance.now() - started;
  console.log(
    `${layers * width}-task DAG (${layers} layers × ${width}): ${run.state} in ${fmt(wall / 1000, 1)} s ` +
      `(${fmt(wall / layers, 0)} ms per layer); callbacks sent again after a refusal: ${retriedCallbacks.length}` +
      (retriedCallbacks.length ? ` (${retriedCallbacks.slice(0, 3).join('; ')})` : ''),
  );

  const baseline: number[] = [];
  const { GcsObjectStore } = await import('../shared/adapters/gcsObjectStore.ts');
  const { FirestoreDocumentStore } = await import('../shared/adapters/firestoreDocumentStore.ts');
  const objects = new GcsObjectStore(bucket);
  const documents = new FirestoreDocumentStore();
  for (let i = 0; i < 50; i += 1) {
    const t0 = performance.now();
    await objects.put(`baseline/${i}`, '{}', { ifGenerationMatch: 0 });
    await documents.get(`bench/doc-${i}`);
    baseline.push(performance.now() - t0);
  }
  const floor = percentile(baseline, 50);
  console.log(
    `baseline durable step (create-only write + Firestore read): p50 ${fmt(floor, 1)} ms; ` +
      `first-dispatch p50 / baseline ${fmt(percentile(firstDispatch, 50) / floor, 1)}, hand-off p50 / baseline ${fmt(percentile(handOff, 50) / floor, 1)}`,
  );
  await worker.close();
  await host.close();
}
