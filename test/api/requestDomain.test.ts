import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ArcoError } from '../../shared/core/arcoError.ts';
import { registerHttpFunction } from '../../shared/http/functionsFramework.ts';
import { monotonicUlids } from '../../shared/adapters/idGenerator.ts';
import { createLogger } from '../../shared/observability/logger.ts';

const activeDomain = () => (process as unknown as { domain?: unknown }).domain ?? null;
const settings = { log: createLogger({}, () => {}, 'SILENT'), ids: monotonicUlids(), maxBodyBytes: 1024 };

registerHttpFunction(
  'domainProbe',
  async (_req, res) => {
    const atStart = activeDomain() !== null;
    await new Promise((resolve) => setTimeout(resolve, 1));
    res.json({ atStart, afterAwait: activeDomain() !== null });
  },
  settings,
);
registerHttpFunction(
  'domainProbeThrows',
  async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    throw new ArcoError('not_found', 'no such thing');
  },
  settings,
);

const servers = new Map<string, string>();
async function urlOf(target: string): Promise<string> {
  let url = servers.get(target);
  if (!url) {
    const server = getTestServer(target);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    servers.set(target, url);
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  }
  return url;
}

describe("registered HTTP functions run outside the framework's per-request domain", () => {
  it('the handler and everything it awaits see no active domain', async () => {
    const response = await fetch(`${await urlOf('domainProbe')}/`, { method: 'POST' });
    expect(await response.json()).toEqual({ atStart: false, afterAwait: false });
  });

  it('an error thrown after an await is still answered with the API error body', async () => {
    const response = await fetch(`${await urlOf('domainProbeThrows')}/api/v1/x`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'NOT_FOUND', message: 'no such thing' });
  });
});
