/**
 * The demo workspace `npm start` deploys (tenant `demo`, workspace `demo`): a small daily-partitioned
 * pipeline run by the example worker, with one transient failure (retried) and one data-quality
 * failure (its downstream is skipped), so every diagnostic of runbook 000 has something to show.
 */
const daily = { dimensions: [{ name: 'date', kind: 'time', granularity: 'day' }] };

export function demoManifest(workerUrl: string) {
  return {
    codeVersionId: 'demo-v1',
    workerUrl,
    retryPolicy: { maxAttempts: 3, initialBackoffSeconds: 2, maxBackoffSeconds: 10 },
    assets: [
      { key: 'raw.orders', partitioning: daily },
      { key: 'raw.customers', partitioning: daily },
      {
        key: 'analytics.orders',
        partitioning: daily,
        dependencies: [{ upstreamKey: 'raw.orders' }],
        payload: { failUntilAttempt: 1 },
      },
      { key: 'analytics.customers', partitioning: daily, dependencies: [{ upstreamKey: 'raw.customers' }] },
      {
        key: 'analytics.daily_revenue',
        partitioning: daily,
        dependencies: [{ upstreamKey: 'analytics.orders' }, { upstreamKey: 'analytics.customers' }],
      },
      {
        key: 'ml.churn_features',
        partitioning: daily,
        dependencies: [{ upstreamKey: 'analytics.customers' }],
        payload: {
          failUntilAttempt: 99,
          failWith: {
            category: 'DATA_QUALITY',
            failureClass: 'CONTRACT_VIOLATION',
            message: 'missing required columns [tenure_days]',
          },
        },
      },
      {
        key: 'activation.churn_alerts',
        partitioning: daily,
        dependencies: [{ upstreamKey: 'ml.churn_features' }],
      },
    ],
    // The nightly load of raw orders for the day, and new order files announced on the sensor topic.
    schedules: [
      {
        id: 'nightly_raw_orders',
        cron: '0 2 * * *',
        timezone: 'UTC',
        assets: ['raw.orders'],
        partitionFromTick: 'date',
      },
    ],
    sensors: [
      { id: 'orders_arrivals', kind: 'push', assetSelection: ['raw.orders'], partitionKeyAttribute: 'date' },
    ],
    // The daily pipeline of the runbook's checklist: `npx arco status`, `pipeline run --start … --end …`.
    pipelines: [
      {
        name: 'daily',
        default: true,
        assets: [
          'raw.orders',
          'raw.customers',
          'analytics.orders',
          'analytics.customers',
          'analytics.daily_revenue',
        ],
        partitionDimension: 'date',
        timezone: 'UTC',
        publish: { dataPointers: ['analytics.daily_revenue'] },
        maxParallelDefault: 2,
      },
    ],
  };
}

/** Deploys the demo manifest and triggers today's run; returns the run id. */
export async function deployDemo(
  apiUrl: string,
  token: string,
  today = new Date().toISOString().slice(0, 10),
): Promise<string> {
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const deployed = await fetch(`${apiUrl}/api/v1/workspaces/demo/manifests`, {
    method: 'POST',
    headers: { ...headers, 'Idempotency-Key': 'demo-manifest-v1' },
    body: JSON.stringify(demoManifest(`${apiUrl}/worker`)),
  });
  if (!deployed.ok) throw new Error(`demo manifest: ${deployed.status} ${await deployed.text()}`);
  const run = await fetch(`${apiUrl}/api/v1/workspaces/demo/runs`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      selection: ['raw.orders', 'raw.customers'],
      includeDownstream: true,
      partitionKey: `date=${today}`,
      runKey: `demo:${today}`,
      labels: { source: 'npm-start-demo' },
    }),
  });
  if (!run.ok) throw new Error(`demo run: ${run.status} ${await run.text()}`);
  const { runId } = (await run.json()) as { runId: string };
  // A trigger answers once durable; the stack is ready for a user once the run reads back.
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const read = await fetch(`${apiUrl}/api/v1/workspaces/demo/runs/${runId}`, { headers });
    if (read.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return runId;
}
