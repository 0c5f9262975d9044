import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What the CLI prints when the user's own input is wrong before any API answer: one `arco: …` line that
 * names the file or the option, exit 1, and never a stack trace.
 */
describe('the CLI answers bad local input with one line, not a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arco-cli-'));
  const notJson = join(dir, 'bad.avsc');
  writeFileSync(notJson, '{bad');
  let html: Server;
  let htmlUrl = '';
  beforeAll(async () => {
    // What it answers is chosen by the path's end: …/401, …/503, else 200.
    html = createServer((req, res) => {
      const status = req.url?.endsWith('/401') ? 401 : req.url?.endsWith('/503') ? 503 : 200;
      if (status === 503) res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream crashed');
      else res.writeHead(status, { 'content-type': 'text/html' }).end('<html></html>');
    });
    await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
    htmlUrl = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => html.close(() => resolve())));

  // Asynchronous: the HTML server below runs in this process and must answer while the CLI waits.
  const arco = (args: string[], apiUrl = 'http://127.0.0.1:9') =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['bin/arco.mjs', ...args],
        {
          encoding: 'utf8',
          env: {
            ...process.env,
            ARCO_API_URL: apiUrl,
            ARCO_TOKEN: 't',
            ARCO_WORKSPACE: 'ws',
            ARCO_DEBUG: '',
          },
          timeout: 60_000,
        },
        (error, _stdout, stderr) => resolve({ status: error ? (error.code as number | null) : 0, stderr }),
      );
    });
  const expectOneLine = (result: Awaited<ReturnType<typeof arco>>, message: RegExp) => {
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at |Error:|node:internal|\.ts:\d+/);
  };

  it.each([
    [
      ['registry', 'check', 'ds', 'raw', join(dir, 'absent.avsc')],
      /^arco: cannot read schema file .*absent\.avsc: no such file\n$/,
    ],
    [['registry', 'ingest', 'ds', 'raw', notJson], /^arco: schema file .*bad\.avsc is not valid JSON: /],
    [['registry', 'check', 'ds', 'raw', dir], /^arco: cannot read schema file .*: it is a directory\n$/],
    [
      ['deploy', join(dir, 'absent.json')],
      /^arco: cannot read manifest file .*absent\.json: no such file\n$/,
    ],
  ])('%j', async (args, message) => expectOneLine(await arco(args), message));

  it.each([['2026-13-45'], ['2026-02-30'], ['yesterday-ish']])(
    'status --date %s is refused before any call',
    async (date) => {
      const result = await arco(['status', '--date', date]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('use YYYY-MM-DD, today or yesterday');
    },
  );

  it('an API URL that answers HTML gets a line naming ARCO_API_URL', async () => {
    expectOneLine(
      await arco(['registry', 'datasets'], htmlUrl),
      /^arco: 200: .* answered something other than JSON; is ARCO_API_URL the Arco API\?\n$/,
    );
  });

  it('an error answer that is not the API error body shows its status and start, and the 401 hint', async () => {
    expectOneLine(await arco(['delta', 'table', '503'], htmlUrl), /^arco: 503 : upstream crashed\n$/);
    expectOneLine(
      await arco(['delta', 'table', '401'], htmlUrl),
      /^arco: 401 : <html><\/html> \(mint a fresh token with `npx arco token …`\)\n$/,
    );
  });
});

describe('arco token', () => {
  const token = (args: string[]) =>
    new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        process.execPath,
        ['bin/arco.mjs', 'token', '--tenant', 't', '--workspace', 'w', ...args],
        { encoding: 'utf8', env: { ...process.env, ARCO_LOCAL_SECRET: 'test-secret' } },
        (error, stdout, stderr) => (error ? reject(error) : resolve({ stdout, stderr })),
      ),
    );

  it('mints a token without --roles but says what it cannot do, and says nothing with roles', async () => {
    const bare = await token([]);
    expect(bare.stdout).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(bare.stderr).toContain('no --roles given');
    expect((await token(['--roles', 'operator'])).stderr).toBe('');
  });
});
