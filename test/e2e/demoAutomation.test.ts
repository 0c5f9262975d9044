import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStack, startLocalStack } from '../support/localStack.ts';

/** `npm start` as an operator gets it: the demo's schedule fires by itself on the stack's own tick. */
describe('the demo workspace on npm start ticks by itself', () => {
  let stack: RunningStack;
  beforeAll(async () => {
    stack = await startLocalStack({});
  });
  afterAll(() => stack?.stop());

  it('fires the demo schedule without anyone posting a tick, and lists the demo sensor', async () => {
    const token = stack.token(['--tenant', 'demo', '--workspace', 'demo', '--roles', 'operator']);
    const get = async <T>(path: string) =>
      (await (
        await fetch(`${stack.url}${path}`, { headers: { Authorization: `Bearer ${token}` } })
      ).json()) as T;
    const deadline = Date.now() + 30_000;
    let ticks: Array<{ status: string; runId?: string }> = [];
    while (Date.now() < deadline && !ticks.length) {
      await new Promise((r) => setTimeout(r, 500));
      ticks =
        (await get<{ ticks?: typeof ticks }>('/api/v1/workspaces/demo/schedules/nightly_raw_orders/ticks'))
          .ticks ?? [];
    }
    expect(ticks[0]).toMatchObject({ status: 'TRIGGERED', runId: expect.any(String) });
    const run = await get<{
      tasks: Array<{ partitionKey?: string; deltaPartition?: string; taskKey: string }>;
    }>(`/api/v1/workspaces/demo/runs/${ticks[0]!.runId}`);
    expect(run.tasks.map((t) => t.taskKey)).toEqual(['raw.orders']);
    const sensors = await get<{ sensors: Array<{ sensorId: string }> }>('/api/v1/workspaces/demo/sensors');
    expect(sensors.sensors.map((s) => s.sensorId)).toEqual(['orders_arrivals']);
  });
});
