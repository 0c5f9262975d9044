import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { isUtf8 } from 'node:buffer';
import type { Context } from 'hono';
import { ArcoError, badRequest } from '../core/arcoError.ts';
import { parseLosslessJson } from '../core/losslessJson.ts';

/** One ajv for every request body and stored document, configured as the registry spec §4.1 says. */
export const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: false, strict: true });
(addFormatsPlugin as unknown as (a: Ajv) => void)(ajv);

export interface FieldError {
  field: string;
  message: string;
}

const dotted = (error: ErrorObject): string => {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty);
    return path ? `${path}.${extra}` : extra;
  }
  if (error.keyword === 'required') {
    const missing = String((error.params as { missingProperty: string }).missingProperty);
    return path ? `${path}.${missing}` : missing;
  }
  return path;
};

const describe = (error: ErrorObject): string => {
  if (error.keyword === 'additionalProperties') return 'is not an allowed property';
  if (error.keyword === 'required') return 'is required';
  return error.message ?? 'is invalid';
};

export function fieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((e) => ({ field: dotted(e), message: describe(e) }));
}

export interface Validator<T> {
  (value: unknown): T;
  schema: object;
}

/**
 * A function that returns the value typed by `schema` or throws a readable 400. The schema is compiled
 * on first use, so a function instance compiles only the schemas of the routes it serves (about 60 ms
 * of a cold start when every module compiled its schemas at import).
 */
export function validator<T>(schema: JSONSchemaType<T> | object, what = 'request body'): Validator<T> {
  let validate: ValidateFunction<T> | undefined;
  const check = ((value: unknown) => {
    validate ??= ajv.compile(schema) as ValidateFunction<T>;
    if (validate(value)) return value;
    const errors = fieldErrors(validate.errors);
    const first = errors[0]!;
    throw badRequest(`${what}: ${first.field || '(root)'} ${first.message}`, { field: first.field, errors });
  }) as Validator<T>;
  check.schema = schema;
  return check;
}

const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * What is wrong with the encoding of a body that says it is JSON, or null (also for other media
 * types): 415 when its `charset` is not UTF-8 (RFC 8259 §8.1: JSON exchanged between systems is
 * UTF-8), 400 when its bytes are not UTF-8 (a lenient decoder would store U+FFFD in their place).
 */
export function jsonEncodingProblem(contentType: string | undefined, bytes: Uint8Array): ArcoError | null {
  const type = contentType ?? '';
  if (!JSON_MEDIA_TYPE.test(type)) return null;
  const charset = CHARSET.exec(type)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    return new ArcoError('unsupported_media_type', 'unsupported charset: send the body in UTF-8', {
      field: 'Content-Type',
    });
  if (!isUtf8(bytes)) return badRequest('request body is not valid UTF-8', { reason: 'invalid_utf8' });
  return null;
}

/**
 * The text of a JSON request body, or the API error for it: 415 unless `Content-Type` is
 * `application/json` in UTF-8, 400 when the bytes are not UTF-8 or there are none.
 */
export function jsonBodyText(contentType: string | undefined, bytes: Uint8Array): string {
  if (!JSON_MEDIA_TYPE.test(contentType ?? ''))
    throw new ArcoError('unsupported_media_type', 'Content-Type must be application/json');
  const problem = jsonEncodingProblem(contentType, bytes);
  if (problem) throw problem;
  // TextDecoder drops a leading byte order mark, which RFC 8259 §8.1 lets a parser ignore.
  const text = new TextDecoder('utf-8').decode(bytes);
  if (text.trim() === '')
    throw badRequest('request body is empty; send a JSON object', { reason: 'empty_body' });
  return text;
}

export interface JsonBodyOptions {
  /** Keep integers beyond 2^53 exact (as `bigint`); the registry needs this for Avro `long` defaults. */
  lossless?: boolean;
}

/**
 * Parses a JSON body: 415 unless it is JSON in UTF-8, 400 when it is empty, not UTF-8 or does not parse
 * (`details.reason: "malformed_json"`). The value may be any JSON value; the route's schema decides.
 */
export async function parseJsonBody(c: Context, options: JsonBodyOptions = {}): Promise<unknown> {
  const text = jsonBodyText(c.req.header('content-type'), new Uint8Array(await c.req.arrayBuffer()));
  try {
    return options.lossless ? parseLosslessJson(text) : JSON.parse(text);
  } catch {
    throw badRequest('request body is not valid JSON', { reason: 'malformed_json' });
  }
}

/** Reads a JSON body and lets the schema decide. */
export async function readJsonBody<T>(c: Context, validate: Validator<T>): Promise<T> {
  return validate(await parseJsonBody(c));
}
