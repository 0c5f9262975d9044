import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** CLI commands against a fake API that records each request: what they ask for and what they print. */
describe('CLI commands against a fake API', () => {
  let api: Server;
  let url = '';
  let created = true;
  const requested: string[] = [];
  beforeAll(async () => {
    api = createServer((req, res) => {
      requested.push(`${req.method} ${req.url}`);
      res.writeHead(created ? 201 : 200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          req.url?.endsWith('/rerun')
            ? { runId: 'run2', created }
            : req.url?.endsWith('/triage')
              ? {
                  runId: 'run1',
                  state: 'FAILED',
                  verdict: 'actionable',
                  proposal: { category: 'B', explanation: 'rerun it', command: 'arco rerun run1' },
                  doNot: [],
                  otherFailures: [],
                  skipped: [],
                }
              : { step: 'manifest' },
        ),
      );
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

  const arco = (args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['bin/arco.mjs', ...args],
        {
          encoding: 'utf8',
          env: { ...process.env, ARCO_API_URL: url, ARCO_TOKEN: 't', ARCO_WORKSPACE: 'ws' },
        },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );

  it('arco rerun prints a new run when one was created, and the earlier one on a repeat', async () => {
    created = true;
    expect(await arco(['rerun', 'run1'])).toBe('new run run2 (rerun of run1)\n');
    created = false;
    expect(await arco(['rerun', 'run1'])).toBe('run run2 (rerun of run1, started earlier)\n');
  });

  it('arco triage --apply says when the rerun it asked for was started earlier', async () => {
    created = true;
    expect(await arco(['triage', 'run1', '--apply'])).toContain('applied: new run run2\n');
    created = false;
    expect(await arco(['triage', 'run1', '--apply'])).toContain('applied earlier: run run2 is the rerun\n');
  });

  it('arco manifests get needs no --partition for an unpartitioned asset', async () => {
    requested.length = 0;
    expect(JSON.parse(await arco(['manifests', 'get', '--asset', 'a.b', '--run', 'r1']))).toEqual({
      step: 'manifest',
    });
    expect(requested).toEqual(['GET /api/v1/workspaces/ws/manifests/step?assetKey=a.b&runId=r1']);
    requested.length = 0;
    await arco(['manifests', 'get', '--asset', 'a.b', '--run', 'r1', '--partition', '2026-11-30']);
    expect(requested).toEqual([
      'GET /api/v1/workspaces/ws/manifests/step?assetKey=a.b&partitionKey=2026-11-30&runId=r1',
    ]);
  });
});
