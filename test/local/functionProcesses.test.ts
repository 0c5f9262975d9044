import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionHost } from '../../local/functionHost.ts';
import { startHostOnEmulators } from '../../local/hostOnEmulators.ts';
import { bearer, createTestBucket, TEST_SECRET, uniqueName } from '../support/testDependencies.ts';

/**
 * The local stack's host with each function in a process of its own (what `npm start` runs): requests
 * reach the gateway document's function, failpoints keep one count across the processes, and
 * `/metrics` covers every process.
 */
describe('the function host with a process per function', () => {
  let host: FunctionHost;
  const ws = uniqueName('ws');
  let operator: Record<string, string>;
  let internal: Record<string, string>;
  const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const response = await fetch(`${host.url}${path}`, {
      method,
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };

  const logFile = join(mkdtempSync(join(tmpdir(), 'arco-fp-')), 'functions.log');
  const saved = { ARCO_LOG_FILE: process.env.ARCO_LOG_FILE, ARCO_LOG_LEVEL: process.env.ARCO_LOG_LEVEL };

  beforeAll(async () => {
    // The function processes inherit it: their log lines go to one file, as on `npm start`.
    process.env.ARCO_LOG_FILE = logFile;
    process.env.ARCO_LOG_LEVEL = 'INFO';
    host = await startHostOnEmulators({
      bucket: await createTestBucket(),
      secret: TEST_SECRET,
      pushToken: 'push-secret',
      pushSubscriptions: [],
      processes: true,
    });
    operator = await bearer({ tenant: 'acme', workspace: ws, roles: ['operator', 'producer'] });
    internal = await bearer({ internal: true });
  }, 120_000);
  afterAll(async () => {
    await host?.close();
    for (const [name, value] of Object.entries(saved))
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });

  it('arms a failpoint in every process and counts a firing in one of them off in all', async () => {
    const deployed = await call('POST', `/api/v1/workspaces/${ws}/manifests`, operator, {
      codeVersionId: 'v1',
      workerUrl: `${host.url}/worker`,
      assets: [{ key: 'fp.one', dependencies: [] }],
    });
    expect(deployed.status).toBeLessThan(300);
    // Armed through `api`, fired in `run-trigger`.
    const armed = await call('POST', '/internal/failpoints', internal, { 'run.after_reservation': 1 });
    expect(armed.json()).toEqual({ armed: { 'run.after_reservation': 1 } });
    const trigger = { selection: ['fp.one'], runKey: uniqueName('key') };
    const crashed = await call('POST', `/api/v1/workspaces/${ws}/runs`, operator, trigger);
    expect(crashed.status).toBe(500);
    expect(crashed.json().code).toBe('injected_fault');
    // The firing reached `api` too: nothing is left armed anywhere.
    await expect
      .poll(async () => (await call('GET', '/internal/failpoints', internal)).json())
      .toEqual({ armed: {} });
    // The retry finds the reservation the crashed request made, and completes that run.
    const retried = await call('POST', `/api/v1/workspaces/${ws}/runs`, operator, trigger);
    expect(retried.status).toBe(200);
    expect(retried.json().created).toBe(false);
  });

  it('refuses to arm a name that is no failpoint, and arms nothing of that request', async () => {
    const refused = await call('POST', '/internal/failpoints', internal, {
      'delta.after_log': 1,
      'nope.point': 1,
    });
    expect(refused.status).toBe(400);
    expect(refused.json()).toMatchObject({
      message: 'no failpoint is named nope.point',
      details: { field: 'nope.point', known: expect.arrayContaining(['delta.after_log']) },
    });
    expect((await call('GET', '/internal/failpoints', internal)).json()).toEqual({ armed: {} });
  });

  it('answers /metrics with every process’s samples, after api checked the caller', async () => {
    expect((await call('GET', '/metrics', {})).status).toBe(401);
    const metrics = await call('GET', '/metrics', operator);
    expect(metrics.status).toBe(200);
    // Trigger answers are counted in the run-trigger process, manifest uploads in api.
    expect(metrics.text).toMatch(
      /api_requests_total\{[^}]*route="\/api\/v1\/workspaces\/:workspaceId\/runs"/,
    );
    expect(metrics.text).toMatch(
      /api_requests_total\{[^}]*route="\/api\/v1\/workspaces\/:workspaceId\/manifests"/,
    );
  });

  it('keeps no listener per question: polling /metrics leaves the processes as they were', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      // Each question once left an exit listener on every process: the eleventh warned of a leak.
      for (let i = 0; i < 15; i += 1) expect((await call('GET', '/metrics', operator)).status).toBe(200);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it("names in each log line the function that wrote it (GCP's K_SERVICE)", async () => {
    // Each request is made here, so the test stands alone.
    await call('POST', `/api/v1/workspaces/${ws}/manifests`, operator, {
      codeVersionId: 'v-log',
      workerUrl: `${host.url}/worker`,
      assets: [{ key: 'log.one', dependencies: [] }],
    });
    await call('POST', `/api/v1/workspaces/${ws}/runs`, operator, { selection: ['log.one'] });
    await call('GET', `/api/v1/workspaces/${ws}/runs`, operator);
    const requests = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { message?: string; route?: string; service?: string })
      .filter((line) => line.message === 'request');
    const serviceOf = (method: string, route: string) =>
      new Set(
        requests
          .filter(
            (line) =>
              line.route === route &&
              (line as { httpRequest?: { requestMethod?: string } }).httpRequest?.requestMethod === method,
          )
          .map((line) => line.service),
      );
    expect(serviceOf('POST', '/api/v1/workspaces/:workspaceId/runs')).toEqual(new Set(['arco-run-trigger']));
    expect(serviceOf('POST', '/api/v1/workspaces/:workspaceId/manifests')).toEqual(new Set(['arco-api']));
    expect(serviceOf('GET', '/api/v1/workspaces/:workspaceId/runs')).toEqual(new Set(['arco-api']));
  });
});
