import { describe, expect, it } from 'vitest';
import { diffSchemas } from '../../shared/registry/schemaDiff.ts';
import { validateSchema } from '../../shared/registry/schemaValidation.ts';

const diff = (a: object, b: object) => diffSchemas(validateSchema(a).root, validateSchema(b).root);
const rec = (fields: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'record',
  name: 'm',
  fields,
  ...extra,
});

describe('schema diff (spec §8)', () => {
  it('reproduces the example of spec §8.4', () => {
    const v1 = {
      type: 'record',
      name: 'mara_extraction',
      fields: [
        { name: 'matnr', type: 'string' },
        { name: 'maktx', type: 'string' },
      ],
    };
    const v2 = {
      ...v1,
      fields: [...v1.fields, { name: 'currency', type: ['null', 'string'], default: null }],
    };
    expect(diff(v1, v2)).toEqual([
      {
        op: 'add_field',
        path: '/fields/-',
        field_path: 'currency',
        field: { name: 'currency', type: ['null', 'string'], optional: true, default: null },
      },
    ]);
  });

  it('orders changes depth-first in the old document with paths into it', () => {
    const before = rec([
      { name: 'id', type: 'long' },
      { name: 'addr', type: { type: 'record', name: 'Addr', fields: [{ name: 'zip', type: 'int' }] } },
      {
        name: 'lines',
        type: {
          type: 'array',
          items: { type: 'record', name: 'Line', fields: [{ name: 'qty', type: 'int' }] },
        },
      },
      { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B'] } },
      { name: 'note', type: 'string', default: '' },
      { name: 'old', type: 'string' },
    ]);
    const after = rec([
      { name: 'id', type: ['null', 'long'] },
      {
        name: 'addr',
        type: {
          type: 'record',
          name: 'Addr',
          fields: [
            { name: 'zip', type: 'string' },
            { name: 'city', type: 'string', default: '' },
          ],
        },
      },
      {
        name: 'lines',
        type: {
          type: 'array',
          items: { type: 'record', name: 'Line', fields: [{ name: 'qty', type: 'long' }] },
        },
      },
      { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['B', 'C'], default: 'B' } },
      { name: 'note', type: 'string', default: 'n/a' },
      { name: 'renamed', type: 'string', aliases: ['old'] },
      { name: 'attrs', type: { type: 'map', values: 'string' } },
    ]);
    expect(diff(before, after).map((c) => [c.op, c.path, c.field_path])).toEqual([
      ['make_nullable', '/fields/0/type', 'id'],
      ['change_type', '/fields/1/type/fields/0/type', 'addr.zip'],
      ['add_field', '/fields/1/type/fields/-', 'addr.city'],
      ['change_type', '/fields/2/type/items/fields/0/type', 'lines[].qty'],
      ['remove_enum_symbol', '/fields/3/type/symbols/0', 'kind'],
      ['add_enum_symbol', '/fields/3/type/symbols/-', 'kind'],
      ['change_enum_default', '/fields/3/type/default', 'kind'],
      ['change_default', '/fields/4/default', 'note'],
      ['rename_field', '/fields/5', 'old'],
      ['add_field', '/fields/-', 'attrs'],
    ]);
    expect(diff(before, after)[3]).toMatchObject({ from_type: 'int', to_type: 'long', promotion: true });
  });

  it('reports union branches, type renames, fixed sizes and logical types', () => {
    const before = rec(
      [
        { name: 'u', type: ['null', 'string', 'int'] },
        { name: 'f', type: { type: 'fixed', name: 'F', size: 4 } },
        { name: 'd', type: { type: 'int', logicalType: 'date' } },
      ],
      { name: 'Old' },
    );
    const after = rec(
      [
        { name: 'u', type: ['null', 'string', 'double'] },
        { name: 'f', type: { type: 'fixed', name: 'F', size: 8 } },
        { name: 'd', type: 'int' },
      ],
      { name: 'New', aliases: ['Old'] },
    );
    expect(diff(before, after)).toEqual([
      { op: 'rename_type', path: '/name', field_path: '', from_name: 'Old', to_name: 'New', aliased: true },
      { op: 'remove_union_branch', path: '/fields/0/type/2', field_path: 'u', branch: 'int' },
      { op: 'add_union_branch', path: '/fields/0/type/-', field_path: 'u', branch: 'double' },
      { op: 'change_fixed_size', path: '/fields/1/type/size', field_path: 'f', from_size: 4, to_size: 8 },
      {
        op: 'change_logical_type',
        path: '/fields/2/type',
        field_path: 'd',
        from_logical_type: 'date',
        to_logical_type: null,
      },
    ]);
  });

  it('shows the old and new precision and scale of a decimal that changed, at its type', () => {
    const dec = (precision: number, scale?: number) => ({
      type: 'bytes',
      logicalType: 'decimal',
      precision,
      ...(scale !== undefined ? { scale } : {}),
    });
    const before = rec([
      { name: 'price', type: dec(10, 2) },
      { name: 'qty', type: dec(5) },
      { name: 'fee', type: ['null', dec(8, 2)], default: null },
      { name: 'raw', type: dec(6, 1) },
    ]);
    const after = rec([
      { name: 'price', type: dec(10, 4) },
      { name: 'qty', type: dec(5, 0) },
      { name: 'fee', type: ['null', dec(12, 2)], default: null },
      { name: 'raw', type: 'bytes' },
    ]);
    expect(diff(before, after)).toEqual([
      {
        op: 'change_decimal',
        path: '/fields/0/type',
        field_path: 'price',
        from_precision: 10,
        to_precision: 10,
        from_scale: 2,
        to_scale: 4,
      },
      {
        op: 'change_decimal',
        path: '/fields/2/type/1',
        field_path: 'fee',
        from_precision: 8,
        to_precision: 12,
        from_scale: 2,
        to_scale: 2,
      },
      {
        op: 'change_logical_type',
        path: '/fields/3/type',
        field_path: 'raw',
        from_logical_type: 'decimal',
        to_logical_type: null,
      },
    ]);
  });

  it('terminates on recursive schemas and reports a change inside them once', () => {
    const node = (extra: unknown[]) =>
      rec([
        {
          name: 'head',
          type: {
            type: 'record',
            name: 'Node',
            fields: [
              { name: 'v', type: 'int' },
              { name: 'next', type: ['null', 'Node'], default: null },
              ...extra,
            ],
          },
        },
      ]);
    expect(diff(node([]), node([{ name: 'w', type: 'int', default: 0 }]))).toEqual([
      {
        op: 'add_field',
        path: '/fields/0/type/fields/-',
        field_path: 'head.w',
        field: { name: 'w', type: 'int', optional: true, default: 0 },
      },
    ]);
  });
});
