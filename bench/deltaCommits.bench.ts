import { benchDependencies } from './benchDependencies.ts';
import { createGatewayApp } from '../local/functionApps.ts';
import { mintLocalToken } from '../shared/auth/localTokens.ts';
import { uuidv7 } from '../shared/core/uuid.ts';
import { fmt, percentile } from './benchStack.ts';

const SECRET = 'bench-secret';

/** Delta commits/s on one table with 1, 4 and 8 writers; baseline: a bare create-only GCS write. */
export async function benchDeltaCommits(): Promise<void> {
  const deps = await benchDependencies('delta', SECRET);
  const objects = deps.objects;
  const app = createGatewayApp(deps);
  const headers = {
    Authorization: `Bearer ${await mintLocalToken(SECRET, { tenant: 'bench', workspace: 'delta', roles: ['producer'] })}`,
    'content-type': 'application/json',
  };
  const post = async (path: string, body: unknown) =>
    app.request(path, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

  const baselineOps = 200;
  let started = performance.now();
  for (let i = 0; i < baselineOps; i += 1)
    await objects.put(`baseline/${i}.json`, '{}', { ifGenerationMatch: 0 });
  const baselinePerSecond = baselineOps / ((performance.now() - started) / 1000);
  console.log(
    `baseline: create-only GCS write ${fmt(baselinePerSecond)} ops/s (sequential, ${baselineOps} ops)`,
  );

  const commitsPerRun = Number(process.env.ARCO_BENCH_DELTA_COMMITS ?? 120);
  let singleWriter = 0;
  for (const writers of [1, 4, 8]) {
    const table = await json(await post('/api/v1/delta/tables', { name: `bench.t${writers}_${Date.now()}` }));
    const tableId = String(table.table_id);
    const latencies: number[] = [];
    let attempts = 0;
    let committed = 0;
    started = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        while (committed < commitsPerRun) {
          const staged = await json(
            await post(`/api/v1/delta/tables/${tableId}/commits/stage`, {
              payload: JSON.stringify({ commitInfo: { operation: 'WRITE', writer: w } }),
            }),
          );
          const commitStarted = performance.now();
          for (;;) {
            const coordinator = await json(
              await app.request(`/api/v1/delta/tables/${tableId}/coordinator`, { headers }),
            );
            attempts += 1;
            const response = await post(`/api/v1/delta/tables/${tableId}/commits`, {
              read_version: coordinator.latest_version,
              ...staged,
              idempotency_key: uuidv7(),
            });
            await response.arrayBuffer();
            if (response.status === 200) break;
          }
          latencies.push(performance.now() - commitStarted);
          committed += 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const perSecond = committed / seconds;
    if (writers === 1) singleWriter = perSecond;
    console.log(
      `delta commits, ${writers} writer(s): ${fmt(perSecond)} commits/s, p50 ${fmt(percentile(latencies, 50))} ms, ` +
        `p95 ${fmt(percentile(latencies, 95))} ms (incl. retries), ${attempts} attempts for ${committed} commits; ` +
        `ratio vs 1 writer ${fmt(perSecond / singleWriter, 2)}, vs baseline write ${fmt(perSecond / baselinePerSecond, 3)}`,
    );
  }
}
