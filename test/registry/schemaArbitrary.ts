import fc from 'fast-check';

/**
 * Random Avro record schemas over a small vocabulary of field names, symbols and sizes, so that two
 * independent draws overlap a lot and their compatibility is anything from `both` to `none`. Named
 * types are named after where they sit (`R_addr`, `E_kind_items`), which keeps them unique in a
 * document and lets the same position match across the pair.
 */
/** A decimal's parameters; an absent scale means 0, and some draws are invalid (scale > precision). */
interface Decimal {
  precision: number;
  scale?: number;
}

type Shape =
  | { kind: 'primitive'; name: string; logical?: string; decimal?: Decimal }
  | { kind: 'array'; items: Shape }
  | { kind: 'map'; values: Shape }
  | { kind: 'union'; branches: Shape[] }
  | { kind: 'enum'; symbols: string[]; withDefault: boolean; aliased: boolean }
  | { kind: 'fixed'; size: number; decimal?: Decimal }
  | { kind: 'record'; fields: FieldShape[]; aliased: boolean };

interface FieldShape {
  name: string;
  type: Shape;
  withDefault: boolean;
  aliases: string[];
}

const NAMES = ['a', 'b', 'c', 'd', 'e'];
const PRIMS = ['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'];

// Precision 10 is too large for a 4-byte fixed, and scale 12 exceeds every precision: both invalid
// decimals, which readers (and so both checkers) treat as their underlying type.
const decimal = fc.record(
  { precision: fc.constantFrom(4, 9, 10), scale: fc.constantFrom(0, 2, 4, 12) },
  { requiredKeys: ['precision'] },
);

const primitive = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...PRIMS).map((name): Shape => ({ kind: 'primitive', name })) },
  { weight: 1, arbitrary: fc.constant<Shape>({ kind: 'primitive', name: 'int', logical: 'date' }) },
  { weight: 1, arbitrary: decimal.map((d): Shape => ({ kind: 'primitive', name: 'bytes', decimal: d })) },
);

const shapeKey = (s: Shape) => (s.kind === 'primitive' ? s.name : s.kind);

const { shape } = fc.letrec<{ shape: Shape; field: FieldShape; record: Shape }>((tie) => ({
  shape: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: primitive },
    { weight: 1, arbitrary: tie('shape').map((items): Shape => ({ kind: 'array', items })) },
    { weight: 1, arbitrary: tie('shape').map((values): Shape => ({ kind: 'map', values })) },
    {
      weight: 2,
      arbitrary: fc
        .uniqueArray(fc.oneof({ weight: 4, arbitrary: primitive }, { weight: 1, arbitrary: tie('shape') }), {
          minLength: 1,
          maxLength: 4,
          selector: shapeKey,
        })
        .filter((branches) => branches.every((b) => b.kind !== 'union'))
        .map((branches): Shape => ({ kind: 'union', branches })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({
          symbols: fc.uniqueArray(fc.constantFrom('X', 'Y', 'Z', 'W'), { minLength: 1, maxLength: 4 }),
          withDefault: fc.boolean(),
          aliased: fc.boolean(),
        })
        .map((e): Shape => ({ kind: 'enum', ...e })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ size: fc.constantFrom(4, 8), decimal: fc.option(decimal, { nil: undefined }) })
        .map(({ size, decimal: d }): Shape => ({ kind: 'fixed', size, ...(d ? { decimal: d } : {}) })),
    },
    { weight: 2, arbitrary: tie('record') },
  ),
  field: fc.record({
    name: fc.constantFrom(...NAMES),
    type: tie('shape'),
    withDefault: fc.boolean(),
    aliases: fc.uniqueArray(fc.constantFrom(...NAMES), { maxLength: 2 }),
  }),
  record: fc
    .record({
      fields: fc.uniqueArray(tie('field'), { maxLength: 4, selector: (f) => f.name }),
      aliased: fc.boolean(),
    })
    .map((r): Shape => ({ kind: 'record', ...r })),
}));

const topFields = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom(...NAMES),
    type: shape,
    withDefault: fc.boolean(),
    aliases: fc.uniqueArray(fc.constantFrom(...NAMES), { maxLength: 1 }),
  }),
  { minLength: 1, maxLength: 5, selector: (f) => f.name },
);

function defaultFor(shape: Shape): unknown {
  switch (shape.kind) {
    case 'primitive':
      return { null: null, boolean: false, int: 0, long: 0, float: 1.5, double: 1.5, bytes: '', string: '' }[
        shape.name
      ];
    case 'array':
      return [];
    case 'map':
      return {};
    case 'union':
      return defaultFor(shape.branches[0]!);
    case 'enum':
      return shape.symbols[0];
    case 'fixed':
      return '\u0000'.repeat(shape.size);
    case 'record':
      return Object.fromEntries(shape.fields.map((f) => [f.name, defaultFor(f.type)]));
  }
}

function toAvro(shape: Shape, at: string): unknown {
  switch (shape.kind) {
    case 'primitive':
      if (shape.decimal) return { type: shape.name, ...decimalAttributes(shape.decimal) };
      return shape.logical ? { type: shape.name, logicalType: shape.logical } : shape.name;
    case 'array':
      return { type: 'array', items: toAvro(shape.items, `${at}_items`) };
    case 'map':
      return { type: 'map', values: toAvro(shape.values, `${at}_values`) };
    case 'union':
      return shape.branches.map((b, i) => toAvro(b, `${at}_u${i}`));
    case 'enum':
      return {
        type: 'enum',
        name: `E_${at}`,
        symbols: shape.symbols,
        ...(shape.withDefault ? { default: shape.symbols[0] } : {}),
        ...(shape.aliased ? { aliases: [`Old_${at}`] } : {}),
      };
    case 'fixed':
      return {
        type: 'fixed',
        name: `F_${at}`,
        size: shape.size,
        ...(shape.decimal ? decimalAttributes(shape.decimal) : {}),
      };
    case 'record':
      return {
        type: 'record',
        name: `R_${at}`,
        ...(shape.aliased ? { aliases: [`Old_${at}`] } : {}),
        fields: shape.fields.map((f) => fieldToAvro(f, at)),
      };
  }
}

const decimalAttributes = (d: Decimal) => ({
  logicalType: 'decimal',
  precision: d.precision,
  ...(d.scale !== undefined ? { scale: d.scale } : {}),
});

function fieldToAvro(field: FieldShape, parent: string) {
  return {
    name: field.name,
    type: toAvro(field.type, `${parent}_${field.name}`),
    ...(field.withDefault ? { default: defaultFor(field.type) } : {}),
    ...(field.aliases.length ? { aliases: field.aliases.filter((a) => a !== field.name) } : {}),
  };
}

/** A top-level record schema of the shape the registry accepts. */
export const avroSchema = topFields.map((fields) => ({
  type: 'record',
  name: 'root',
  fields: fields.map((f) => fieldToAvro(f, 'root')),
}));

type Edit = 'keep' | 'drop' | 'replace' | 'toggleDefault' | 'nullable' | 'alias' | 'rescale';

/** Mutates one field shape the way producers evolve schemas, recursing into nested records. */
function mutateField(field: FieldShape, edit: Edit, donor: FieldShape | undefined): FieldShape | null {
  switch (edit) {
    case 'keep':
      return field;
    case 'drop':
      return null;
    case 'replace':
      return donor ? { ...donor, name: field.name } : field;
    case 'toggleDefault':
      return { ...field, withDefault: !field.withDefault };
    case 'nullable':
      return field.type.kind === 'union' || (field.type.kind === 'primitive' && field.type.name === 'null')
        ? field
        : { ...field, type: { kind: 'union', branches: [{ kind: 'primitive', name: 'null' }, field.type] } };
    case 'alias':
      return donor ? { ...field, name: donor.name, aliases: [field.name] } : field;
    case 'rescale':
      // A producer changing a decimal's scale: the Avro spec makes that a mismatch both ways.
      return (field.type.kind === 'primitive' || field.type.kind === 'fixed') && field.type.decimal
        ? {
            ...field,
            type: {
              ...field.type,
              decimal: { ...field.type.decimal, scale: (field.type.decimal.scale ?? 0) + 2 },
            },
          }
        : field;
  }
}

const edits = fc.array(
  fc.constantFrom<Edit>(
    'keep',
    'keep',
    'keep',
    'drop',
    'replace',
    'toggleDefault',
    'nullable',
    'alias',
    'rescale',
  ),
  { minLength: 5, maxLength: 5 },
);

/** An (old, new) pair where new evolves old: most pairs are compatible one way or both. */
export const schemaPair = fc
  .tuple(topFields, topFields, edits, fc.boolean())
  .map(([fields, donors, fieldEdits, append]) => {
    const evolved: FieldShape[] = [];
    fields.forEach((field, i) => {
      const donor = donors[i % donors.length];
      const next = mutateField(field, fieldEdits[i]!, donor);
      if (next && !evolved.some((f) => f.name === next.name)) evolved.push(next);
    });
    const extra = donors.find((d) => !evolved.some((f) => f.name === d.name));
    if (append && extra) evolved.push(extra);
    if (evolved.length === 0) evolved.push(fields[0]!);
    const schema = (list: FieldShape[]) => ({
      type: 'record',
      name: 'root',
      fields: list.map((f) => fieldToAvro(f, 'root')),
    });
    return [schema(fields), schema(evolved)] as const;
  });
