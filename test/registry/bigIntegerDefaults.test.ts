import { describe, expect, it } from 'vitest';
import { ArcoError } from '../../shared/core/arcoError.ts';
import { parseLosslessJson, stringifyLosslessJson } from '../../shared/core/losslessJson.ts';
import { canonicalJsonText } from '../../shared/registry/canonicalSchemaJson.ts';
import { compareSchemas } from '../../shared/registry/compatibility.ts';
import { diffSchemas } from '../../shared/registry/schemaDiff.ts';
import { validateSchema } from '../../shared/registry/schemaValidation.ts';

/** A schema document as the registry's request parser sees it: integers beyond 2^53 stay exact. */
const parsed = (text: string) => parseLosslessJson(text);
const record = (...fields: string[]) => `{"type":"record","name":"events","fields":[${fields.join(',')}]}`;
const refusal = (text: string): ArcoError => {
  try {
    validateSchema(parsed(text));
  } catch (error) {
    if (error instanceof ArcoError) return error;
    throw error;
  }
  throw new Error('the schema was accepted');
};

describe('lossless JSON', () => {
  it('keeps integers beyond 2^53 exact and everything else as JSON.parse does', () => {
    const text =
      '{"max":9223372036854775807,"min":-9223372036854775808,"safe":9007199254740991,"f":1.5,"a":1,"a":2}';
    const value = parseLosslessJson(text) as Record<string, unknown>;
    expect(value).toEqual({
      max: 9223372036854775807n,
      min: -9223372036854775808n,
      safe: 9007199254740991,
      f: 1.5,
      a: 2,
    });
    expect(stringifyLosslessJson(value)).toBe(
      '{"max":9223372036854775807,"min":-9223372036854775808,"safe":9007199254740991,"f":1.5,"a":2}',
    );
    expect(Object.keys(parseLosslessJson('{"__proto__":{"x":1}}') as object)).toEqual(['__proto__']);
    expect(() => parseLosslessJson('{"selection": [')).toThrow(SyntaxError);
  });

  it('gives big integers their digits in the canonical text, and other values their JCS text', () => {
    expect(canonicalJsonText(parsed('{"b":9223372036854775807,"a":[1,2.50]}'))).toBe(
      '{"a":[1,2.5],"b":9223372036854775807}',
    );
    expect(canonicalJsonText(parsed('{"b":9223372036854775806}'))).not.toBe(
      canonicalJsonText(parsed('{"b":9223372036854775807}')),
    );
    expect(canonicalJsonText({ b: 1, a: 'x' })).toBe('{"a":"x","b":1}');
  });
});

describe('64-bit defaults (Avro spec: long is a 64-bit signed integer)', () => {
  it('accepts long defaults beyond 2^53 exactly, also on a logical long and in nested positions', () => {
    const text = record(
      '{"name":"max","type":"long","default":9223372036854775807}',
      '{"name":"min","type":"long","default":-9223372036854775808}',
      '{"name":"until","type":{"type":"long","logicalType":"timestamp-micros"},"default":32503679999999000}',
      '{"name":"ids","type":{"type":"array","items":"long"},"default":[9007199254740993]}',
      '{"name":"maybe","type":["long","null"],"default":9007199254740993}',
      '{"name":"ratio","type":"double","default":100000000000000000000}',
      '{"name":"small","type":"long","default":42}',
    );
    const schema = validateSchema(parsed(text));
    const fields = (schema.root as { fields: Array<{ name: string; default: unknown }> }).fields;
    expect(Object.fromEntries(fields.map((f) => [f.name, f.default]))).toEqual({
      max: 9223372036854775807n,
      min: -9223372036854775808n,
      until: 32503679999999000n,
      ids: [9007199254740993n],
      maybe: 9007199254740993n,
      ratio: 100000000000000000000n,
      small: 42,
    });
    // Stored and hashed with every digit.
    expect(stringifyLosslessJson(schema.json)).toBe(text);
    expect(schema.canonical).toContain('"default":9223372036854775807');
    expect(schema.canonical).toContain('"default":32503679999999000');
    expect(schema.hash).not.toBe(
      validateSchema(parsed(text.replace('9223372036854775807', '9223372036854775806'))).hash,
    );
  });

  it('refuses a default outside the long range with a 400 naming the field and the range', () => {
    const over = refusal(record('{"name":"max","type":"long","default":9223372036854775808}'));
    expect(over.code).toBe('invalid_argument');
    expect(over.message).toBe(
      'invalid default of field max: 9223372036854775808 is outside the Avro long range [-9223372036854775808, 9223372036854775807]',
    );
    expect(over.details).toEqual({ field: 'schema_json.fields.0.default', reason: 'invalid_default' });
    const under = refusal(
      record('{"name":"a","type":"string"}', '{"name":"min","type":"long","default":-9223372036854775809}'),
    );
    expect(under.details).toEqual({ field: 'schema_json.fields.1.default', reason: 'invalid_default' });
    expect(under.message).toContain('-9223372036854775809 is outside the Avro long range');
  });

  it('refuses big integers where the type is not a long or a floating point number', () => {
    expect(refusal(record('{"name":"n","type":"int","default":9007199254740993}')).message).toBe(
      'invalid default of field n: 9007199254740993 is outside the Avro int range [-2147483648, 2147483647]',
    );
    expect(refusal(record('{"name":"s","type":"string","default":9007199254740993}')).message).toBe(
      'invalid default of field s: 9007199254740993 is not a string',
    );
    // A union's default belongs to its first branch.
    expect(refusal(record('{"name":"u","type":["null","long"],"default":9007199254740993}')).message).toBe(
      'invalid default of field u: 9007199254740993 is not null',
    );
    const nested = refusal(
      record(
        '{"name":"inner","type":{"type":"record","name":"Inner","fields":[{"name":"big","type":"long","default":99999999999999999999}]}}',
      ),
    );
    expect(nested.details).toEqual({
      field: 'schema_json.fields.0.type.fields.0.default',
      reason: 'invalid_default',
    });
  });

  it('leaves big integers in custom attributes alone, even in record-like ones', () => {
    const text = record(
      '{"name":"a","type":"long","x-max":99999999999999999999,"x-example":{"type":"record","name":"X","fields":[{"name":"b","type":"int","default":99999999999999999999}]}}',
    );
    expect(stringifyLosslessJson(validateSchema(parsed(text)).json)).toBe(text);
  });

  it('still refuses, through avsc, a long default given as an unsafe float (not an integer literal)', () => {
    expect(refusal(record('{"name":"x","type":"long","default":9.3e18}')).details).toEqual({
      field: 'schema_json',
      reason: 'invalid_avro_schema',
    });
  });

  it('diffs and compares schemas with big defaults exactly', () => {
    const older = validateSchema(
      parsed(record('{"name":"max","type":"long","default":9223372036854775807}')),
    );
    const newer = validateSchema(
      parsed(record('{"name":"max","type":"long","default":9223372036854775806}')),
    );
    const changes = diffSchemas(older.root, newer.root);
    expect(changes).toEqual([
      {
        op: 'change_default',
        path: '/fields/0/default',
        field_path: 'max',
        from_default: 9223372036854775807n,
        to_default: 9223372036854775806n,
      },
    ]);
    expect(stringifyLosslessJson(changes)).toContain(
      '"from_default":9223372036854775807,"to_default":9223372036854775806',
    );
    expect(diffSchemas(older.root, validateSchema(parsed(stringifyLosslessJson(older.json))).root)).toEqual(
      [],
    );
    expect(compareSchemas(older.root, newer.root).compatibility).toBe('both');
  });
});
