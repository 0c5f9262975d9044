import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { Context } from 'hono';
import { ApiError, badRequest } from './apiError.ts';

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

/** Compiles a schema into a function that returns the typed value or throws a readable 400. */
export function validator<T>(schema: JSONSchemaType<T> | object, what = 'request body'): Validator<T> {
  const validate = ajv.compile(schema) as ValidateFunction<T>;
  const check = ((value: unknown) => {
    if (validate(value)) return value;
    const errors = fieldErrors(validate.errors);
    const first = errors[0]!;
    throw badRequest(`${what}: ${first.field || '(root)'} ${first.message}`, { field: first.field, errors });
  }) as Validator<T>;
  check.schema = schema;
  return check;
}

/** Parses a JSON body: 415 unless it is JSON, 400 when it does not parse. */
export async function parseJsonBody(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type))
    throw new ApiError(415, 'Content-Type must be application/json');
  try {
    return JSON.parse(await c.req.text());
  } catch {
    throw badRequest('request body is not valid JSON');
  }
}

/** Reads a JSON body and lets the schema decide. */
export async function readJsonBody<T>(c: Context, validate: Validator<T>): Promise<T> {
  return validate(await parseJsonBody(c));
}
