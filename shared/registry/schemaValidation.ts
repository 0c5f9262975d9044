import avro from 'avsc';
import { canonicalJsonText } from './canonicalSchemaJson.ts';
import { badRequest } from '../http/apiError.ts';
import { sha256Hex } from '../core/hashing.ts';
import { type AvroNode, resolveAvro } from './avroTypes.ts';

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

  try {
    avro.Type.forSchema(top as avro.Schema);
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
  return { json: top, canonical, hash: sha256Hex(canonical), sizeBytes, root: resolveAvro(top) };
}
