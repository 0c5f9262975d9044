/**
 * Our HTTP functions as the Functions Framework runs them, locally and in GCP. The framework parses
 * every body with express' body-parser before our code runs, and hands body-parser's errors (malformed
 * JSON, an unsupported charset or encoding, a body over its limit) to express' final handler, which
 * answers an HTML page with the stack trace and the server's file paths. The framework (5.x) offers no
 * hook for that (functions-framework-nodejs issue #686), so `registerHttpFunction` adds one: an
 * express error-handling middleware after the framework's own, on the app of each function we
 * register, which answers those errors with the API's error body. It also refuses oversized and
 * non-UTF-8 JSON bodies before the function's own code sees them.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  cloudEvent,
  type CloudEventFunction,
  http,
  type HttpFunction,
  type Request,
  type Response,
} from '@google-cloud/functions-framework';
import type { IdGenerator } from '../adapters/idGenerator.ts';
import type { Logger } from '../observability/logger.ts';
import { ArcoError, badRequest } from '../core/arcoError.ts';
import { dialectForPath, errorBody, errorCodeForStatus, errorHeaders, HTTP_STATUS } from './errorBody.ts';
import { jsonEncodingProblem } from './jsonBody.ts';
import { requestIdFor } from './requestContext.ts';
import { detachedFromRequest } from '../runtime/detachedFromRequest.ts';

export interface FunctionSettings {
  log: Logger;
  ids: IdGenerator;
  /** The largest request body the function accepts; larger ones answer 413. */
  maxBodyBytes: number;
}

/** What body-parser (through raw-body and http-errors) attaches to the errors it passes to express. */
interface BodyParserError {
  type?: unknown;
  status?: unknown;
  expose?: unknown;
  body?: unknown;
}

/**
 * The API error for an error the framework's body parsing passed on (body-parser 2 `type`s): 400 for
 * JSON that does not parse, or that is a bare scalar (body-parser's strict mode), 413 for a body over
 * the limit, 415 for an unsupported charset or content encoding, the error's own 4xx for other client
 * errors, else 500. Messages are ours: body-parser's quote the body.
 */
export function frameworkError(error: unknown, maxBodyBytes: number): ArcoError {
  const { type, status, expose, body } = (error ?? {}) as BodyParserError;
  switch (type) {
    case 'entity.parse.failed':
      return isJsonText(body)
        ? badRequest('request body must be a JSON object', { reason: 'not_an_object' })
        : badRequest('request body is not valid JSON', { reason: 'malformed_json' });
    case 'entity.too.large':
      return new ArcoError('payload_too_large', `request body exceeds ${maxBodyBytes} bytes`);
    case 'charset.unsupported':
      return new ArcoError('unsupported_media_type', 'unsupported charset: send the body in UTF-8', {
        field: 'Content-Type',
      });
    case 'encoding.unsupported':
      return new ArcoError('unsupported_media_type', 'unsupported Content-Encoding', {
        field: 'Content-Encoding',
      });
    case 'request.aborted':
      return badRequest('the request was aborted before its body was read');
    case 'request.size.invalid':
      return badRequest('the request body does not have the length Content-Length declares');
  }
  if (typeof status === 'number' && status >= 400 && status < 500 && expose === true)
    return new ArcoError(errorCodeForStatus(status), 'request body rejected');
  return new ArcoError('internal', 'internal error');
}

function isJsonText(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a request may not reach the function, or null: its body is larger than `maxBodyBytes` (413), or
 * it says it is JSON and is not UTF-8 (415 for another charset, 400 for invalid bytes).
 */
export function requestBodyProblem(
  contentType: string | undefined,
  rawBody: Uint8Array | undefined,
  maxBodyBytes: number,
): ArcoError | null {
  if (!rawBody) return null;
  if (rawBody.length > maxBodyBytes)
    return new ArcoError('payload_too_large', `request body exceeds ${maxBodyBytes} bytes`);
  return jsonEncodingProblem(contentType, rawBody);
}

/** An error answer in the dialect of the request's path, with the request id of the API family. */
export function frameworkErrorResponse(
  apiError: ArcoError,
  path: string,
  header: (name: string) => string | undefined,
  ids: IdGenerator,
): { status: number; headers: Record<string, string>; body: Record<string, unknown>; requestId: string } {
  const dialect = dialectForPath(path);
  const requestId = requestIdFor(path, header, ids);
  return {
    status: HTTP_STATUS[apiError.code],
    headers: {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      [dialect === 'registry' ? 'X-Correlation-Id' : 'X-Request-Id']: requestId,
      ...errorHeaders(apiError),
    },
    body: errorBody(dialect, apiError, requestId),
    requestId,
  };
}

function answer(
  req: Request,
  res: Response,
  apiError: ArcoError,
  settings: FunctionSettings,
  cause?: unknown,
) {
  const header = (name: string) => {
    const value = req.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  };
  const path = (req.originalUrl ?? req.url ?? '/').split('?')[0]!;
  const response = frameworkErrorResponse(apiError, path, header, settings.ids);
  const log = settings.log.child({ requestId: response.requestId });
  // Never the body or body-parser's message (it quotes the body): registry spec §10.
  log[response.status >= 500 ? 'error' : 'info']('request', {
    httpRequest: { requestMethod: req.method, requestUrl: path, status: response.status },
    route: 'unmatched',
    error_code: response.body.code,
    ...((cause as { type?: unknown })?.type ? { body_error: (cause as { type: unknown }).type } : {}),
    ...(response.status >= 500 && cause ? { error: (cause as Error).stack ?? String(cause) } : {}),
  });
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.end(JSON.stringify(response.body));
}

type ServerFactory = (userFunction: unknown, options: unknown) => Server;
interface ExpressApp {
  use(handler: (error: unknown, req: Request, res: Response, next: (error?: unknown) => void) => void): void;
}

// Kept on the framework's (CommonJS, once per process) module, so that a second evaluation of this
// module (test isolation) extends the same hook instead of wrapping the factory again.
const HOOK = Symbol.for('arco.functionsFramework.errorHandler');
type ServerModule = { getServer?: ServerFactory; [HOOK]?: WeakMap<object, FunctionSettings> };

/**
 * Wraps the framework's server factory (used by its `main`, which GCP runs, and by `getTestServer`,
 * which the local function host uses) so that the express app it builds for one of our functions
 * ends with our error handler. Express skips route handlers once an error is pending, so only an
 * error-handling middleware (four parameters) after the framework's route sees body-parser's errors.
 * Throws at import if the framework's layout changed, rather than serve HTML error pages again.
 */
function frameworkHook(): WeakMap<object, FunctionSettings> {
  const require = createRequire(import.meta.url);
  const serverModulePath = join(dirname(require.resolve('@google-cloud/functions-framework')), 'server.js');
  const serverModule = require(serverModulePath) as ServerModule;
  const existing = serverModule[HOOK];
  if (existing) return existing;
  const original = serverModule.getServer;
  if (typeof original !== 'function')
    throw new Error(`@google-cloud/functions-framework has no getServer in ${serverModulePath}`);
  const settingsOf = new WeakMap<object, FunctionSettings>();
  serverModule.getServer = (userFunction, options) => {
    const server = original(userFunction, options);
    const settings = settingsOf.get(userFunction as object);
    if (!settings) return server;
    const app = server.listeners('request')[0] as Partial<ExpressApp> | undefined;
    if (typeof app?.use !== 'function')
      throw new Error('the Functions Framework no longer serves an express app');
    app.use((error, req, res, next) => {
      if (res.headersSent) {
        next(error);
        return;
      }
      // Too large wins over malformed, as in the app (the size is known before the content matters).
      const tooLarge = (req.rawBody?.length ?? 0) > settings.maxBodyBytes;
      const apiError = tooLarge
        ? new ArcoError('payload_too_large', `request body exceeds ${settings.maxBodyBytes} bytes`)
        : frameworkError(error, settings.maxBodyBytes);
      answer(req, res, apiError, settings, error);
    });
    return server;
  };
  serverModule[HOOK] = settingsOf;
  return settingsOf;
}

/**
 * Registers `handler` as the HTTP function `target` of the Functions Framework (what `http()` does),
 * so that nothing the framework or the handler does answers with anything but the API's error body:
 * body-parser's errors go through `frameworkError`; a body over `maxBodyBytes` answers 413 and a JSON
 * body that is not UTF-8 400/415 before the handler runs; an `ArcoError` the handler throws is answered
 * as such and anything else it throws as 500 `internal error` (the stack goes to the log only).
 *
 * The handler runs outside the framework's per-request `domain` (detachedFromRequest): the domain's
 * bookkeeping on every promise and callback of a request was about a tenth of the api process's CPU
 * under `npm run bench load`. What a handler throws or rejects with is answered here as before. What
 * the domain alone caught was a synchronous throw inside a callback the handler scheduled (a timer, an
 * event listener): it answered that one request with 500. Such a throw (a bug: the handlers are
 * promise-based) now meets the framework's process-wide handler, as an unhandled rejection always did:
 * it answers the latest request with 500 and ends the instance, whose other requests in flight fail and
 * are retried by their clients (every mutation is idempotent); locally the host restarts the process.
 */
export function registerHttpFunction(
  target: string,
  handler: HttpFunction,
  settings: FunctionSettings,
): void {
  const settingsOf = frameworkHook();
  const guarded: HttpFunction = (req, res) => detachedFromRequest(() => guardedRun(req, res));
  const guardedRun = async (req: Request, res: Response) => {
    try {
      const problem = requestBodyProblem(req.header('content-type'), req.rawBody, settings.maxBodyBytes);
      if (problem) return answer(req, res, problem, settings);
      await handler(req, res);
    } catch (error) {
      if (res.headersSent) {
        settings.log.error('function failed after answering', {
          error: (error as Error).stack ?? String(error),
        });
        return;
      }
      answer(
        req,
        res,
        error instanceof ArcoError ? error : new ArcoError('internal', 'internal error'),
        settings,
        error,
      );
    }
  };
  settingsOf.set(guarded, settings);
  http(target, guarded);
}

/**
 * Registers `handler` as the CloudEvent function `target` (what `cloudEvent()` does), with the same
 * answer as registerHttpFunction's for a push body the framework cannot parse: the API's error body,
 * never express' HTML page with the stack trace. What the handler throws stays the framework's
 * affair: Eventarc redelivers an event whose delivery failed.
 */
export function registerCloudEventFunction<T>(
  target: string,
  handler: CloudEventFunction<T>,
  settings: FunctionSettings,
): void {
  frameworkHook().set(handler, settings);
  cloudEvent(target, handler);
}

/**
 * A JSON object body of a plain HTTP function (the worker), as body-parser left it: 415 unless the
 * request is `application/json`, 400 unless the body is a JSON object.
 */
export function jsonObjectBody(req: Request): Record<string, unknown> {
  if (!/^application\/json\s*(;|$)/i.test(req.header('content-type') ?? ''))
    throw new ArcoError('unsupported_media_type', 'Content-Type must be application/json');
  // body-parser turns an empty JSON body into `{}`; the bytes tell.
  if (!req.rawBody?.length)
    throw badRequest('request body is empty; send a JSON object', { reason: 'empty_body' });
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body))
    throw badRequest('request body must be a JSON object', { reason: 'not_an_object' });
  return body as Record<string, unknown>;
}
