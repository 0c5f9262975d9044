import { describe, expect, it } from 'vitest';
import { classify, compareSchemas } from '../../shared/registry/compatibility.ts';
import { validateSchema } from '../../shared/registry/schemaValidation.ts';
import { oracleCompatibility } from './avroOracle.ts';

const rec = (fields: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'record',
  name: 'mara',
  fields,
  ...extra,
});
const f = (name: string, type: unknown, extra: Record<string, unknown> = {}) => ({ name, type, ...extra });
const one = (type: unknown, extra: Record<string, unknown> = {}) => rec([f('x', type, extra)]);
const enumT = (symbols: string[], extra: Record<string, unknown> = {}) => ({
  type: 'enum',
  name: 'Kind',
  symbols,
  ...extra,
});
const decimal = (precision: number, scale?: number) => ({
  type: 'bytes',
  logicalType: 'decimal',
  precision,
  ...(scale !== undefined ? { scale } : {}),
});
const nested = (fields: unknown[]) => ({ type: 'record', name: 'Inner', fields });
const node = (fields: unknown[]) => ({
  type: 'record',
  name: 'Node',
  fields: [f('v', 'int'), f('next', ['null', 'Node'], { default: null }), ...fields],
});

/** Spec §6.5, row by row: [change, old, new, expected compatibility]. */
const MATRIX: Array<[string, object, object, string]> = [
  ['identical', rec([f('a', 'string')]), rec([f('a', 'string')]), 'both'],
  ['reorder fields', rec([f('a', 'string'), f('b', 'int')]), rec([f('b', 'int'), f('a', 'string')]), 'both'],
  ['change doc', rec([f('a', 'string')]), rec([f('a', 'string', { doc: 'new' })], { doc: 'x' }), 'both'],
  [
    'add field with default',
    rec([f('a', 'string')]),
    rec([f('a', 'string'), f('b', 'string', { default: '' })]),
    'both',
  ],
  [
    'add nullable field with default null',
    rec([f('a', 'string')]),
    rec([f('a', 'string'), f('b', ['null', 'string'], { default: null })]),
    'both',
  ],
  [
    'add field without default',
    rec([f('a', 'string')]),
    rec([f('a', 'string'), f('b', 'string')]),
    'forward',
  ],
  [
    'add nullable field without default',
    rec([f('a', 'string')]),
    rec([f('a', 'string'), f('b', ['null', 'string'])]),
    'forward',
  ],
  [
    'remove field with default',
    rec([f('a', 'string'), f('b', 'int', { default: 0 })]),
    rec([f('a', 'string')]),
    'both',
  ],
  [
    'remove field without default',
    rec([f('a', 'string'), f('b', 'int')]),
    rec([f('a', 'string')]),
    'backward',
  ],
  ['add default', rec([f('a', 'string')]), rec([f('a', 'string', { default: 'x' })]), 'both'],
  ['remove default', rec([f('a', 'string', { default: 'x' })]), rec([f('a', 'string')]), 'both'],
  [
    'change default',
    rec([f('a', 'string', { default: 'x' })]),
    rec([f('a', 'string', { default: 'y' })]),
    'both',
  ],
  ['rename required, no alias', rec([f('a', 'string')]), rec([f('b', 'string')]), 'none'],
  [
    'rename optional, no alias',
    rec([f('a', 'string', { default: '' })]),
    rec([f('b', 'string', { default: '' })]),
    'both',
  ],
  [
    'rename required with alias',
    rec([f('a', 'string')]),
    rec([f('b', 'string', { aliases: ['a'] })]),
    'backward',
  ],
  [
    'rename with aliases on both sides',
    rec([f('a', 'string', { aliases: ['b'] })]),
    rec([f('b', 'string', { aliases: ['a'] })]),
    'both',
  ],
  ...(
    [
      ['int', 'long'],
      ['int', 'float'],
      ['int', 'double'],
      ['long', 'float'],
      ['long', 'double'],
      ['float', 'double'],
    ] as const
  ).map(([a, b]): [string, object, object, string] => [`${a} -> ${b}`, one(a), one(b), 'backward']),
  ['long -> int', one('long'), one('int'), 'forward'],
  ['double -> float', one('double'), one('float'), 'forward'],
  ['string -> bytes', one('string'), one('bytes'), 'both'],
  ['bytes -> string', one('bytes'), one('string'), 'both'],
  ['string -> int', one('string'), one('int'), 'none'],
  ['int -> string', one('int'), one('string'), 'none'],
  ['boolean -> int', one('boolean'), one('int'), 'none'],
  ['scalar -> array', one('int'), one({ type: 'array', items: 'int' }), 'none'],
  ['array -> map', one({ type: 'array', items: 'int' }), one({ type: 'map', values: 'int' }), 'none'],
  ['fixed -> bytes', one({ type: 'fixed', name: 'F', size: 4 }), one('bytes'), 'none'],
  ['T -> [null, T]', one('string'), one(['null', 'string']), 'backward'],
  ['T -> [T, null]', one('string'), one(['string', 'null']), 'backward'],
  ['[null, T] -> T', one(['null', 'string']), one('string'), 'forward'],
  ['add union branch', one(['null', 'string']), one(['null', 'string', 'int']), 'backward'],
  ['remove union branch', one(['null', 'string', 'int']), one(['null', 'string']), 'forward'],
  ['[null,int] -> [null,long]', one(['null', 'int']), one(['null', 'long']), 'backward'],
  ['[null,int] -> [null,double]', one(['null', 'int']), one(['null', 'double']), 'backward'],
  ['int -> [null,long]', one('int'), one(['null', 'long']), 'backward'],
  ['string -> [string,int]', one('string'), one(['string', 'int']), 'backward'],
  ['[int,long] -> long', one(['int', 'long']), one('long'), 'both'],
  ['enum add symbol, no default', one(enumT(['A', 'B'])), one(enumT(['A', 'B', 'C'])), 'backward'],
  [
    'enum add symbol, old has default',
    one(enumT(['A', 'B'], { default: 'A' })),
    one(enumT(['A', 'B', 'C'], { default: 'A' })),
    'both',
  ],
  ['enum remove symbol, no default', one(enumT(['A', 'B', 'C'])), one(enumT(['A', 'B'])), 'forward'],
  [
    'enum remove symbol, new has default',
    one(enumT(['A', 'B', 'C'], { default: 'A' })),
    one(enumT(['A', 'B'], { default: 'A' })),
    'both',
  ],
  ['enum reorder', one(enumT(['A', 'B'])), one(enumT(['B', 'A'])), 'both'],
  ['rename enum, no alias', one(enumT(['A'])), one({ ...enumT(['A']), name: 'Sort' }), 'none'],
  ['rename record type, no alias', rec([f('a', 'int')]), rec([f('a', 'int')], { name: 'other' }), 'none'],
  [
    'rename fixed, no alias',
    one({ type: 'fixed', name: 'F', size: 4 }),
    one({ type: 'fixed', name: 'G', size: 4 }),
    'none',
  ],
  [
    'rename named type with alias of old name',
    rec([f('a', 'int')]),
    rec([f('a', 'int')], { name: 'other', aliases: ['mara'] }),
    'backward',
  ],
  [
    'change only namespace',
    rec([f('a', 'int')], { namespace: 'a.b' }),
    rec([f('a', 'int')], { namespace: 'c' }),
    'both',
  ],
  [
    'fixed size change',
    one({ type: 'fixed', name: 'F', size: 4 }),
    one({ type: 'fixed', name: 'F', size: 8 }),
    'none',
  ],
  [
    'nested: add required',
    one(nested([f('a', 'int')])),
    one(nested([f('a', 'int'), f('b', 'int')])),
    'forward',
  ],
  [
    'nested: add optional',
    one(nested([f('a', 'int')])),
    one(nested([f('a', 'int'), f('b', 'int', { default: 0 })])),
    'both',
  ],
  [
    'nested: remove required',
    one(nested([f('a', 'int'), f('b', 'int')])),
    one(nested([f('a', 'int')])),
    'backward',
  ],
  [
    'array items nested: add required',
    one({ type: 'array', items: nested([f('a', 'int')]) }),
    one({ type: 'array', items: nested([f('a', 'int'), f('b', 'int')]) }),
    'forward',
  ],
  [
    'map values nested: add required',
    one({ type: 'map', values: nested([f('a', 'int')]) }),
    one({ type: 'map', values: nested([f('a', 'int'), f('b', 'int')]) }),
    'forward',
  ],
  [
    'union branch nested: add required',
    one(['null', nested([f('a', 'int')])]),
    one(['null', nested([f('a', 'int'), f('b', 'int')])]),
    'forward',
  ],
  [
    'array items int -> long',
    one({ type: 'array', items: 'int' }),
    one({ type: 'array', items: 'long' }),
    'backward',
  ],
  [
    'map values int -> long',
    one({ type: 'map', values: 'int' }),
    one({ type: 'map', values: 'long' }),
    'backward',
  ],
  [
    'array items long -> int',
    one({ type: 'array', items: 'long' }),
    one({ type: 'array', items: 'int' }),
    'forward',
  ],
  [
    'array items string -> int',
    one({ type: 'array', items: 'string' }),
    one({ type: 'array', items: 'int' }),
    'none',
  ],
  [
    'recursive record gains optional field',
    one(node([])),
    one(node([f('w', 'int', { default: 0 })])),
    'both',
  ],
  ['int/date -> int', one({ type: 'int', logicalType: 'date' }), one('int'), 'both'],
  [
    'date -> time-millis',
    one({ type: 'int', logicalType: 'date' }),
    one({ type: 'int', logicalType: 'time-millis' }),
    'both',
  ],
  // Avro spec, "Logical Types / Decimal": decimals match only if precision and scale match. Our
  // deviation from spec §6.5, which listed this row as `both` (docs/runbooks/data-contract-registry.md).
  ['decimal scale 2 -> 4', one(decimal(10, 2)), one(decimal(10, 4)), 'none'],
  ['decimal precision 10 -> 12', one(decimal(10, 2)), one(decimal(12, 2)), 'none'],
  ['decimal scale omitted -> 0 (the default)', one(decimal(10)), one(decimal(10, 0)), 'both'],
  ['decimal -> bytes (the logical type dropped)', one(decimal(10, 2)), one('bytes'), 'both'],
  ['invalid decimal (scale > precision) read as bytes', one(decimal(2, 4)), one(decimal(3, 4)), 'both'],
  [
    'decimal -> ["null", decimal with another scale]',
    one(decimal(10, 2)),
    one(['null', decimal(10, 4)]),
    'none',
  ],
  [
    'fixed decimal precision 9 -> 8',
    one({ type: 'fixed', name: 'Amount', size: 4, logicalType: 'decimal', precision: 9, scale: 2 }),
    one({ type: 'fixed', name: 'Amount', size: 4, logicalType: 'decimal', precision: 8, scale: 2 }),
    'none',
  ],
  [
    'remove required maktx and add required mtart',
    rec([f('matnr', 'string'), f('maktx', 'string')]),
    rec([f('matnr', 'string'), f('mtart', 'string')]),
    'none',
  ],
];

describe('compatibility matrix of spec §6.5', () => {
  it.each(MATRIX)('%s', (_name, oldSchema, newSchema, expected) => {
    const verdict = compareSchemas(validateSchema(oldSchema).root, validateSchema(newSchema).root);
    expect(verdict.compatibility).toBe(expected);
    expect(oracleCompatibility(oldSchema, newSchema)).toBe(expected);
  });

  it('explains an incompatibility with the field path and a readable reason', () => {
    const oldSchema = rec([f('lines', { type: 'array', items: nested([f('qty', 'int')]) })]);
    const newSchema = rec([
      f('lines', { type: 'array', items: nested([f('qty', 'int'), f('unit', 'string')]) }),
    ]);
    const verdict = compareSchemas(validateSchema(oldSchema).root, validateSchema(newSchema).root);
    expect(verdict.backward_issues).toEqual([
      {
        field_path: 'lines[].unit',
        reader_path: '/fields/0/type/items/fields/1',
        writer_path: '/fields/0/type/items/fields',
        reason: 'field lines[].unit is required by the reader (no default) but the writer does not have it',
      },
    ]);
    expect(verdict.forward_issues).toEqual([]);
  });

  it('classifies a decimal scale change as breaking and names both precisions and scales', () => {
    const oldSchema = rec([f('matnr', 'string'), f('price', decimal(10, 2))]);
    const newSchema = rec([f('matnr', 'string'), f('price', decimal(10, 4))]);
    const verdict = compareSchemas(validateSchema(oldSchema).root, validateSchema(newSchema).root);
    expect(classify(verdict.compatibility)).toBe('breaking');
    expect(verdict.backward_issues).toEqual([
      {
        field_path: 'price',
        reader_path: '/fields/1/type',
        writer_path: '/fields/1/type',
        reason:
          'decimal(precision 10, scale 2) cannot be read as decimal(precision 10, scale 4): Avro decimals match only when both precision and scale are equal',
      },
    ]);
    expect(verdict.forward_issues).toEqual([
      expect.objectContaining({
        field_path: 'price',
        reason: expect.stringMatching(
          /^decimal\(precision 10, scale 4\) cannot be read as decimal\(precision 10, scale 2\)/,
        ),
      }),
    ]);
  });
});
