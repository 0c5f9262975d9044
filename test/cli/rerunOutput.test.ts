import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** `arco rerun` says whether the API started a run or answered with the one an identical request started. */
describe('arco rerun output', () => {
  let api: Server;
  let url = '';
  let created = true;
  beforeAll(async () => {
    api = createServer((req, res) => {
      res.writeHead(created ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url?.endsWith('/rerun') ? { runId: 'run2', created } : {}));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

  const rerun = () =>
    new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['bin/arco.mjs', 'rerun', 'run1'],
        {
          encoding: 'utf8',
          env: { ...process.env, ARCO_API_URL: url, ARCO_TOKEN: 't', ARCO_WORKSPACE: 'ws' },
        },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );

  it('prints a new run when one was created, and the earlier one on a repeat', async () => {
    created = true;
    expect(await rerun()).toBe('new run run2 (rerun of run1)\n');
    created = false;
    expect(await rerun()).toBe('run run2 (rerun of run1, started earlier)\n');
  });
});
