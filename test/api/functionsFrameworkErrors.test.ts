import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/emulators.ts';
import { type FunctionHost, startFunctionHost } from '../../local/functionHost.ts';
import { ArcoError } from '../../shared/core/arcoError.ts';
import { frameworkError, requestBodyProblem } from '../../shared/http/functionsFramework.ts';
import { jsonBodyText, jsonEncodingProblem } from '../../shared/http/jsonBody.ts';
import { bearer, createTestBucket, TEST_SECRET } from '../support/testDependencies.ts';

const MAX_BODY = 4096;
const NOT_UTF8 = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"a":"\xff\xfe"}
const ID_HEADER = { orchestration: 'x-request-id', registry: 'x-correlation-id' } as const;
type Dialect = keyof typeof ID_HEADER;

/**
 * The API error body and nothing else: JSON with `code`, `message`, maybe `details`, and the request id
 * under the dialect's name (echoed in its header); no HTML, stack frame, error class or file path.
 */
async function expectErrorBody(response: Response, status: number, dialect: Dialect, code?: string) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(text).not.toMatch(/<html|<!doctype|<pre>|<body/i);
  expect(text).not.toMatch(/\bat \S+ \(|\.(js|ts|mjs):\d+|node_modules|SyntaxError|Error:/);
  expect(text).not.toContain(process.cwd());
  const body = JSON.parse(text) as Record<string, unknown>;
  const idKey = dialect === 'registry' ? 'correlation_id' : 'requestId';
  for (const key of Object.keys(body)) expect(['code', 'message', 'details', idKey]).toContain(key);
  expect(body).toMatchObject({
    code: expect.any(String),
    message: expect.any(String),
    [idKey]: expect.any(String),
  });
  expect(response.headers.get(ID_HEADER[dialect])).toBe(body[idKey]);
  const expectedCode =
    code ??
    (dialect === 'registry'
      ? 'invalid_request'
      : { 400: 'BAD_REQUEST', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' }[status]);
  expect(body.code).toBe(expectedCode);
  return body;
}

describe('body errors as the framework meets them (pure)', () => {
  it("maps body-parser's errors to API errors with messages of our own", () => {
    const parseFailed = (body: string) => ({ type: 'entity.parse.failed', status: 400, expose: true, body });
    expect(frameworkError(parseFailed('{"selection": ['), 10)).toMatchObject({
      code: 'invalid_argument',
      message: 'request body is not valid JSON',
      details: { reason: 'malformed_json' },
    });
    // body-parser's strict mode refuses top-level scalars that are valid JSON.
    expect(frameworkError(parseFailed('42'), 10)).toMatchObject({
      code: 'invalid_argument',
      message: 'request body must be a JSON object',
    });
    expect(frameworkError({ type: 'entity.too.large', status: 413, expose: true }, 10)).toMatchObject({
      code: 'payload_too_large',
      message: 'request body exceeds 10 bytes',
    });
    expect(frameworkError({ type: 'charset.unsupported', status: 415, expose: true }, 10).code).toBe(
      'unsupported_media_type',
    );
    expect(frameworkError({ type: 'encoding.unsupported', status: 415, expose: true }, 10).code).toBe(
      'unsupported_media_type',
    );
    expect(frameworkError({ type: 'parameters.too.many', status: 413, expose: true }, 10)).toMatchObject({
      code: 'payload_too_large',
      message: 'request body rejected',
    });
    expect(frameworkError(new Error('/srv/app/x.js:1 boom'), 10)).toMatchObject({
      code: 'internal',
      message: 'internal error',
    });
  });

  it('refuses oversized bodies and JSON that is not UTF-8 before a function runs', () => {
    expect(requestBodyProblem('application/json', Buffer.from('{"a":1}'), 4)?.code).toBe('payload_too_large');
    expect(requestBodyProblem('application/json', NOT_UTF8, 100)).toMatchObject({
      code: 'invalid_argument',
      details: { reason: 'invalid_utf8' },
    });
    expect(requestBodyProblem('application/json; charset=ISO-8859-1', Buffer.from('{}'), 100)?.code).toBe(
      'unsupported_media_type',
    );
    expect(requestBodyProblem('application/json; charset=utf-8', Buffer.from('{}'), 100)).toBeNull();
    // Other media types are the route's business (a form post may be Latin-1).
    expect(requestBodyProblem('application/x-www-form-urlencoded', NOT_UTF8, 100)).toBeNull();
    expect(requestBodyProblem(undefined, undefined, 100)).toBeNull();
  });

  it('reads a JSON body only as UTF-8 JSON, with 415 and 400 otherwise', () => {
    const refused = (type: string | undefined, bytes: Uint8Array) => {
      try {
        jsonBodyText(type, bytes);
      } catch (error) {
        return error as ArcoError;
      }
      throw new Error('accepted');
    };
    expect(refused('text/plain', Buffer.from('{}')).code).toBe('unsupported_media_type');
    expect(refused(undefined, Buffer.from('{}')).code).toBe('unsupported_media_type');
    expect(refused('application/json', Buffer.from('  ')).details).toEqual({ reason: 'empty_body' });
    expect(refused('application/json', NOT_UTF8).details).toEqual({ reason: 'invalid_utf8' });
    expect(jsonBodyText('application/json', Buffer.from('\ufeff{"a":"é"}'))).toBe('{"a":"é"}');
    expect(jsonEncodingProblem('application/json; charset="UTF-8"', Buffer.from('{}'))).toBeNull();
  });
});

/** Requests every function must answer with its API's error body, whatever route they reach. */
const FRAMEWORK_CASES: Array<[string, Record<string, string>, string | Uint8Array<ArrayBuffer>, number]> = [
  ['malformed JSON', { 'content-type': 'application/json' }, '{"selection": [', 400],
  ['a JSON scalar', { 'content-type': 'application/json' }, '42', 400],
  ['JSON that is not UTF-8', { 'content-type': 'application/json' }, NOT_UTF8, 400],
  ['JSON in another charset', { 'content-type': 'application/json; charset=latin1' }, '{}', 415],
  [
    'an unknown Content-Encoding',
    { 'content-type': 'application/json', 'content-encoding': 'x-zz' },
    '{}',
    415,
  ],
  ['an oversized JSON body', { 'content-type': 'application/json' }, `{"a":"${'x'.repeat(MAX_BODY)}"}`, 413],
  [
    'an oversized malformed body',
    { 'content-type': 'application/json' },
    `{"a":"${'x'.repeat(MAX_BODY)}`,
    413,
  ],
];

/** [function, a path of each dialect that the function answers (the registry's only exist on api)]. */
const TARGETS: Array<[string, Record<Dialect, string>]> = [
  [
    'api',
    { orchestration: '/api/v1/workspaces/ws1/manifests', registry: '/data-contract-registry/v1/datasets' },
  ],
  [
    'run-trigger',
    { orchestration: '/api/v1/workspaces/ws1/runs', registry: '/data-contract-registry/v1/datasets' },
  ],
  [
    'task-completion',
    { orchestration: '/api/v1/tasks/t1/completed', registry: '/data-contract-registry/v1/datasets' },
  ],
  ['compaction', { orchestration: '/compactor/hint', registry: '/data-contract-registry/v1/datasets' }],
  ['rebuild', { orchestration: '/compactor/rebuild', registry: '/data-contract-registry/v1/datasets' }],
  [
    'delta-commit',
    { orchestration: '/api/v1/delta/tables', registry: '/data-contract-registry/v1/datasets' },
  ],
];

describe('every function answers body errors with its API error body (local function host)', () => {
  let host: FunctionHost;
  beforeAll(async () => {
    // The targets build their dependencies from the environment when the host imports them.
    process.env.ARCO_LOCAL_SECRET = TEST_SECRET;
    process.env.ARCO_STORAGE_BUCKET = await createTestBucket();
    process.env.ARCO_MAX_BODY_BYTES = String(MAX_BODY);
    host = await startFunctionHost({ port: await freePort() });
  });
  afterAll(() => host?.close());

  for (const [target, paths] of TARGETS)
    for (const dialect of ['orchestration', 'registry'] as const)
      it.each(FRAMEWORK_CASES)(`${target}, ${dialect} dialect: %s`, async (_name, headers, body, status) => {
        const response = await fetch(`${host.url}${paths[dialect]}`, {
          method: 'POST',
          headers: {
            ...headers,
            [dialect === 'registry' ? 'X-Correlation-Id' : 'X-Request-Id']: 'caller-id-123',
          },
          body,
        });
        const answer = await expectErrorBody(response, status, dialect);
        expect(answer[dialect === 'registry' ? 'correlation_id' : 'requestId']).toBe('caller-id-123');
      });

  it('the CloudEvent function answers a push body it cannot parse with the error body, not HTML', async () => {
    const response = await fetch(`${host.url}/_eventarc/automation/projects/p/topics/arco-automation-ticks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message": {',
    });
    await expectErrorBody(response, 400, 'orchestration');
  });

  it('the issue example: POST runs with {"selection": [ answers 400 in the orchestration body', async () => {
    const response = await fetch(`${host.url}/api/v1/workspaces/ws1/runs`, {
      method: 'POST',
      headers: {
        ...(await bearer({ tenant: 't', workspace: 'ws1', roles: ['operator'] })),
        'content-type': 'application/json',
      },
      body: '{"selection": [',
    });
    expect(await expectErrorBody(response, 400, 'orchestration')).toMatchObject({
      message: 'request body is not valid JSON',
      details: { reason: 'malformed_json' },
    });
  });

  /** Bodies the framework lets through, which the route itself must refuse. */
  const ROUTE_CASES: Array<[string, string | undefined, string, number]> = [
    ['a wrong Content-Type', 'text/plain', '{"selection": []}', 415],
    ['no Content-Type', undefined, '{"selection": []}', 415],
    ['an empty body', 'application/json', '', 400],
    ['JSON that is not an object', 'application/json', '[1, 2]', 400],
  ];
  const routes = async (): Promise<Array<[string, string, Dialect, Record<string, string>]>> => [
    [
      'api runs',
      '/api/v1/workspaces/ws1/runs',
      'orchestration',
      await bearer({ tenant: 't', workspace: 'ws1', roles: ['operator'] }),
    ],
    [
      'api registry datasets',
      '/data-contract-registry/v1/datasets',
      'registry',
      await bearer({ tenant: 't', workspace: 'ws1', roles: ['producer'] }),
    ],
    [
      'compactor rebuild',
      '/compactor/rebuild',
      'orchestration',
      await bearer({ tenant: 't', workspace: 'ws1', internal: true }),
    ],
    [
      'task-completion',
      '/api/v1/tasks/t1/completed',
      'orchestration',
      await bearer({ tenant: 't', workspace: 'ws1', internal: true }),
    ],
  ];

  it.each(ROUTE_CASES)('each route refuses %s with its error body', async (_name, type, body, status) => {
    for (const [, path, dialect, auth] of await routes()) {
      const response = await fetch(`${host.url}${path}`, {
        method: 'POST',
        headers: { ...auth, ...(type ? { 'content-type': type } : {}) },
        body,
      });
      await expectErrorBody(response, status, dialect);
    }
  });
});

describe('as deployed: the Functions Framework main loading index.mjs', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) child.kill();
  });

  /** Starts `functions-framework --target=<target>` the way the Cloud Functions runtime does. */
  async function deployed(target: string): Promise<string> {
    const port = await freePort();
    const require = createRequire(import.meta.url);
    const main = join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
    const args = [main, `--target=${target}`, `--port=${port}`, '--signature-type=http'];
    const child = spawn(process.execPath, args, {
      cwd: process.cwd(),
      env: {
        ...process.env,
        NODE_ENV: 'production',
        FUNCTION_TARGET: target,
        // As in GCP: local tokens are refused outside the local stack in production.
        ARCO_AUTH_MODE: 'google',
        ARCO_STORAGE_BUCKET: 'unused-by-these-requests',
        ARCO_MAX_BODY_BYTES: String(MAX_BODY),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await fetch(`${url}/healthz`);
        return url;
      } catch (error) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`${target} did not start: ${stderr}`, { cause: error });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  for (const [target, paths] of TARGETS)
    it(`${target}: malformed, oversized and non-UTF-8 JSON get the error body of both dialects`, async () => {
      const url = await deployed(target);
      for (const dialect of ['orchestration', 'registry'] as const)
        for (const [, headers, body, status] of [
          FRAMEWORK_CASES[0]!,
          FRAMEWORK_CASES[2]!,
          FRAMEWORK_CASES[5]!,
        ])
          await expectErrorBody(
            await fetch(`${url}${paths[dialect]}`, { method: 'POST', headers, body }),
            status,
            dialect,
          );
    });
});
