import avro from 'avsc';
import { canonicalJsonText } from './canonicalSchemaJson.ts';
import { badRequest } from '../core/arcoError.ts';
import { sha256Hex } from '../core/hashing.ts';
import { containsBigInt, stringifyLosslessJson } from '../core/losslessJson.ts';
import { type AvroNode, type FieldNode, pointer, resolveAvro } from './avroTypes.ts';

/** Limits of spec §9 that belong to the schema itself. */
export const SCHEMA_LIMITS = { canonicalBytes: 512 * 1024, depth: 32, fields: 5000 } as const;

export interface ValidSchema {
  /** The document as ingested (key order kept). */
  json: Record<string, unknown>;
  /** RFC 8785 canonical JSON: what the hash and the size are computed on. */
  canonical: string;
  hash: string;
  sizeBytes: number;
  root: AvroNode;
}

const invalid = (message: string, field: string, reason = 'invalid_avro_schema') =>
  badRequest(message, { field, reason });

/**
 * Spec §6.1: the structural rules avsc does not check (names on every named type, depth, field count,
 * no `optional` attribute), then avsc's full parse, then the canonical size. `field` is the dotted path
 * under `fieldPrefix` (`schema_json` in request bodies).
 */
export function validateSchema(json: unknown, fieldPrefix = 'schema_json'): ValidSchema {
  const at = (segments: Array<string | number>) => [fieldPrefix, ...segments].join('.');
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw invalid('schema must be a JSON object', fieldPrefix);
  const top = json as Record<string, unknown>;
  if (top.type !== 'record') throw invalid('the top-level schema must be a record', at(['type']));
  if (typeof top.name !== 'string' || top.name === '')
    throw invalid('the top-level record needs a non-empty name', at(['name']));
  if (!Array.isArray(top.fields)) throw invalid('a record needs a fields array', at(['fields']));

  let fieldCount = 0;
  const walk = (node: unknown, segments: Array<string | number>, depth: number): void => {
    if (depth > SCHEMA_LIMITS.depth)
      throw invalid(`schema nesting exceeds ${SCHEMA_LIMITS.depth} levels`, at(segments), 'schema_too_deep');
    if (Array.isArray(node)) {
      node.forEach((branch, i) => walk(branch, [...segments, i], depth + 1));
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const object = node as Record<string, unknown>;
    const type = object.type;
    if (typeof type === 'object' && type !== null) walk(type, [...segments, 'type'], depth + 1);
    if (type === 'record' || type === 'error' || type === 'enum' || type === 'fixed') {
      if (typeof object.name !== 'string' || object.name === '')
        throw invalid(`every ${type} needs a name`, at([...segments, 'name']));
    }
    if (type === 'array') walk(object.items, [...segments, 'items'], depth + 1);
    if (type === 'map') walk(object.values, [...segments, 'values'], depth + 1);
    if ((type === 'record' || type === 'error') && Array.isArray(object.fields)) {
      object.fields.forEach((field: unknown, i: number) => {
        const fieldSegments = [...segments, 'fields', i];
        fieldCount += 1;
        if (fieldCount > SCHEMA_LIMITS.fields)
          throw invalid(
            `a schema may have at most ${SCHEMA_LIMITS.fields} fields`,
            at(fieldSegments),
            'too_many_fields',
          );
        if (typeof field === 'object' && field !== null) {
          if ('optional' in field)
            throw invalid(
              '"optional" is not an Avro attribute: give the field a "default" to make it optional',
              at([...fieldSegments, 'optional']),
              'use_default',
            );
          walk((field as Record<string, unknown>).type, [...fieldSegments, 'type'], depth + 1);
        }
      });
    }
  };
  walk(top, [], 0);

  const { forAvsc, bigDefaults } = setAsideBigIntegerDefaults(top);
  try {
    avro.Type.forSchema(forAvsc as avro.Schema);
  } catch (error) {
    throw invalid(`invalid Avro schema: ${(error as Error).message}`, fieldPrefix);
  }
  const canonical = canonicalJsonText(top);
  const sizeBytes = Buffer.byteLength(canonical);
  if (sizeBytes > SCHEMA_LIMITS.canonicalBytes)
    throw invalid(
      `the canonical schema is ${sizeBytes} bytes; the limit is ${SCHEMA_LIMITS.canonicalBytes}`,
      fieldPrefix,
      'schema_too_large',
    );
  const root = resolveAvro(top);
  if (bigDefaults.length > 0) {
    const fields = fieldsByPointer(root);
    for (const { pointer, segments } of bigDefaults) {
      // Not a field of the schema (a record-like object in a custom attribute): nothing reads it.
      const field = fields.get(pointer);
      if (!field) continue;
      const problem = defaultProblem(field.type, field.default);
      if (problem)
        throw invalid(
          `invalid default of field ${field.name}: ${problem}`,
          at([...segments, 'default']),
          'invalid_default',
        );
    }
  }
  return { json: top, canonical, hash: sha256Hex(canonical), sizeBytes, root };
}

const LONG_RANGE = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const INT_RANGE = [-(2n ** 31n), 2n ** 31n - 1n] as const;

interface SetAsideDefault {
  /** RFC 6901 pointer of the field object, as `FieldNode.path` has it. */
  pointer: string;
  segments: Array<string | number>;
}

/**
 * avsc checks a `long` default as a float64 (`Number.isSafeInteger`), so it refuses valid defaults
 * beyond 2^53 such as 9223372036854775807. It gets a copy of the document without the field defaults
 * that hold a `bigint` (and any other `bigint` as the nearest number, e.g. in a custom attribute);
 * those defaults are checked by `defaultProblem` on the resolved types instead. A document without
 * a `bigint` reaches avsc unchanged.
 */
function setAsideBigIntegerDefaults(top: Record<string, unknown>): {
  forAvsc: unknown;
  bigDefaults: SetAsideDefault[];
} {
  const bigDefaults: SetAsideDefault[] = [];
  if (!containsBigInt(top)) return { forAvsc: top, bigDefaults };
  const copy = (value: unknown, segments: Array<string | number>, isField: boolean): unknown => {
    if (typeof value === 'bigint') return Number(value);
    if (Array.isArray(value)) return value.map((item, i) => copy(item, [...segments, i], false));
    if (value === null || typeof value !== 'object') return value;
    const object = value as Record<string, unknown>;
    const isRecord = (object.type === 'record' || object.type === 'error') && Array.isArray(object.fields);
    const entries: Array<[string, unknown]> = [];
    for (const [key, member] of Object.entries(object)) {
      if (isField && key === 'default' && containsBigInt(member)) {
        bigDefaults.push({ pointer: pointer('', ...segments), segments });
        continue;
      }
      entries.push([
        key,
        isRecord && key === 'fields'
          ? (member as unknown[]).map((field, i) => copy(field, [...segments, 'fields', i], true))
          : copy(member, [...segments, key], false),
      ]);
    }
    // fromEntries, not assignment: a `__proto__` key stays a key.
    return Object.fromEntries(entries);
  };
  return { forAvsc: copy(top, [], false), bigDefaults };
}

function fieldsByPointer(root: AvroNode): Map<string, FieldNode> {
  const fields = new Map<string, FieldNode>();
  const seen = new Set<AvroNode>();
  const visit = (node: AvroNode): void => {
    if (seen.has(node)) return;
    seen.add(node);
    if (node.kind === 'record')
      for (const field of node.fields) {
        fields.set(field.path, field);
        visit(field.type);
      }
    else if (node.kind === 'union') node.branches.forEach(visit);
    else if (node.kind === 'array') visit(node.items);
    else if (node.kind === 'map') visit(node.values);
  };
  visit(root);
  return fields;
}

const show = (value: unknown) => {
  const text = stringifyLosslessJson(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function integerProblem(value: unknown, kind: 'int' | 'long'): string | null {
  const [min, max] = kind === 'long' ? LONG_RANGE : INT_RANGE;
  if (typeof value === 'bigint')
    return value >= min && value <= max
      ? null
      : `${value} is outside the Avro ${kind} range [${min}, ${max}]`;
  if (typeof value === 'number' && Number.isSafeInteger(value))
    return BigInt(value) >= min && BigInt(value) <= max
      ? null
      : `${value} is outside the Avro ${kind} range [${min}, ${max}]`;
  return `${show(value)} is not an Avro ${kind} (an integer in [${min}, ${max}])`;
}

/**
 * Why `value` is not a valid default of a field of type `node`, or null when it is. Avro spec,
 * "Complex Types / Records", field `default`: the JSON value must match the type (int and long:
 * integer, within 32 and 64 bits; float and double: number; bytes and fixed: string of code points
 * 0–255, fixed of exactly `size`; enum: one of the symbols; array, map and record: their elements),
 * and a union's default matches its first branch.
 */
export function defaultProblem(node: AvroNode, value: unknown): string | null {
  switch (node.kind) {
    case 'union':
      return node.branches[0]
        ? defaultProblem(node.branches[0], value)
        : 'a union without branches has no default';
    case 'null':
      return value === null ? null : `${show(value)} is not null`;
    case 'boolean':
      return typeof value === 'boolean' ? null : `${show(value)} is not a boolean`;
    case 'int':
    case 'long':
      return integerProblem(value, node.kind);
    case 'float':
    case 'double':
      return typeof value === 'number' || typeof value === 'bigint' ? null : `${show(value)} is not a number`;
    case 'string':
      return typeof value === 'string' ? null : `${show(value)} is not a string`;
    case 'bytes':
    case 'fixed': {
      // eslint-disable-next-line no-control-regex
      if (typeof value !== 'string' || !/^[\u0000-\u00ff]*$/.test(value))
        return `${show(value)} is not a string of byte values (code points 0-255)`;
      return node.kind === 'fixed' && value.length !== node.size
        ? `${show(value)} has ${value.length} bytes; fixed ${node.name} has ${node.size}`
        : null;
    }
    case 'enum':
      return typeof value === 'string' && node.symbols.includes(value)
        ? null
        : `${show(value)} is not a symbol of enum ${node.name}`;
    case 'array': {
      if (!Array.isArray(value)) return `${show(value)} is not an array`;
      for (const item of value) {
        const problem = defaultProblem(node.items, item);
        if (problem) return problem;
      }
      return null;
    }
    case 'map': {
      if (!isPlainObject(value)) return `${show(value)} is not an object`;
      for (const member of Object.values(value)) {
        const problem = defaultProblem(node.values, member);
        if (problem) return problem;
      }
      return null;
    }
    case 'record': {
      if (!isPlainObject(value)) return `${show(value)} is not an object`;
      for (const field of node.fields) {
        if (!Object.hasOwn(value, field.name)) {
          if (!field.hasDefault) return `record ${node.name} needs a value for field ${field.name}`;
          continue;
        }
        const problem = defaultProblem(field.type, value[field.name]);
        if (problem) return problem;
      }
      return null;
    }
  }
}
