import { canonicalJsonText } from './canonicalSchemaJson.ts';
import {
  type AvroNode,
  branchKey,
  type EnumNode,
  type FieldNode,
  isNamed,
  type LogicalAttributes,
  type NamedNode,
  pointer,
  type RecordNode,
  type UnionNode,
} from './avroTypes.ts';
import { isPromotion } from './compatibility.ts';

/** One entry of a diff (spec §8.1): op, a pointer into the old document, a dotted field path, extras. */
export interface SchemaChange {
  op: string;
  path: string;
  field_path: string;
  [extra: string]: unknown;
}

export interface FieldSummary {
  name: string;
  type: unknown;
  optional: boolean;
  default?: unknown;
}

export const fieldSummary = (field: FieldNode): FieldSummary => ({
  name: field.name,
  type: field.json.type,
  optional: field.hasDefault,
  ...(field.hasDefault ? { default: field.default } : {}),
});

const sameJson = (a: unknown, b: unknown) => canonicalJsonText(a) === canonicalJsonText(b);
/** As declared; an absent scale is 0 (Avro spec, "Logical Types / Decimal"), so omitting it is no change. */
const decimalParameters = (logical: LogicalAttributes) => ({
  precision: logical.precision ?? null,
  scale: logical.scale ?? 0,
});
const childPath = (parent: string, name: string) => (parent ? `${parent}.${name}` : name);
const asBranches = (node: AvroNode): AvroNode[] => (node.kind === 'union' ? node.branches : [node]);

/**
 * The changes from `oldRoot` to `newRoot` in the deterministic order of spec §8.3: depth-first in the
 * old document; a named type is diffed once, so recursive schemas terminate. Ops are those of spec
 * §8.2, plus `change_decimal` (`from_precision`, `to_precision`, `from_scale`, `to_scale`, at the
 * type's pointer) where both sides are decimals, since precision and scale decide their compatibility
 * (Avro spec, "Logical Types / Decimal").
 */
export function diffSchemas(oldRoot: AvroNode, newRoot: AvroNode): SchemaChange[] {
  const changes: SchemaChange[] = [];
  const diffed = new Set<NamedNode>();
  const emit = (op: string, path: string, field_path: string, extra: Record<string, unknown> = {}) =>
    changes.push({ op, path, field_path, ...extra });

  const diffType = (older: AvroNode, newer: AvroNode, field: string): void => {
    if (older.kind === 'union' || newer.kind === 'union') return diffUnionSides(older, newer, field);
    if (branchKey(older) !== branchKey(newer) && older.kind !== newer.kind) {
      emit('change_type', older.path, field, {
        from_type: older.json,
        to_type: newer.json,
        promotion: isPromotion(older.kind, newer.kind),
      });
      return;
    }
    if (isNamed(older)) {
      if (diffed.has(older)) return;
      diffed.add(older);
      const renamed = newer as NamedNode;
      if (older.name !== renamed.name)
        emit('rename_type', pointer(older.path, 'name'), field, {
          from_name: older.name,
          to_name: renamed.name,
          aliased: renamed.aliases.includes(older.name),
        });
    }
    switch (older.kind) {
      case 'record':
        diffRecord(older, newer as RecordNode, field);
        break;
      case 'enum':
        diffEnum(older, newer as EnumNode, field);
        break;
      case 'fixed':
        if (older.size !== (newer as typeof older).size)
          emit('change_fixed_size', pointer(older.path, 'size'), field, {
            from_size: older.size,
            to_size: (newer as typeof older).size,
          });
        break;
      case 'array':
        diffType(older.items, (newer as typeof older).items, `${field}[]`);
        break;
      case 'map':
        diffType(older.values, (newer as typeof older).values, `${field}{}`);
        break;
    }
    if (older.logical?.logicalType === 'decimal' && newer.logical?.logicalType === 'decimal') {
      // Both decimal: what changed is the precision or the scale, and those decide compatibility.
      const from = decimalParameters(older.logical);
      const to = decimalParameters(newer.logical);
      if (!sameJson(from, to))
        emit('change_decimal', older.path, field, {
          from_precision: from.precision,
          to_precision: to.precision,
          from_scale: from.scale,
          to_scale: to.scale,
        });
    } else if (!sameJson(older.logical, newer.logical))
      emit('change_logical_type', older.path, field, {
        from_logical_type: older.logical?.logicalType ?? null,
        to_logical_type: newer.logical?.logicalType ?? null,
      });
  };

  const diffUnionSides = (older: AvroNode, newer: AvroNode, field: string): void => {
    const oldBranches = asBranches(older);
    const newBranches = asBranches(newer);
    if (older.kind !== 'union' || newer.kind !== 'union') {
      const [single, union] = older.kind === 'union' ? [newer, older] : [older, newer];
      const match = (union as UnionNode).branches.find((b) => branchKey(b) === branchKey(single));
      if (!match) {
        emit('change_type', older.path, field, {
          from_type: older.json,
          to_type: newer.json,
          promotion: false,
        });
        return;
      }
      const nullable = (union as UnionNode).branches;
      if (nullable.length === 2 && single.kind !== 'null' && nullable.some((b) => b.kind === 'null')) {
        emit(older.kind === 'union' ? 'make_non_nullable' : 'make_nullable', older.path, field, {
          from_type: older.json,
          to_type: newer.json,
        });
        if (older.kind === 'union') diffType(match, single, field);
        else diffType(single, match, field);
        return;
      }
    }
    const oldKeys = oldBranches.map(branchKey);
    const newKeys = newBranches.map(branchKey);
    oldBranches.forEach((branch, i) => {
      if (!newKeys.includes(oldKeys[i]!))
        emit('remove_union_branch', older.kind === 'union' ? branch.path : older.path, field, {
          branch: oldKeys[i],
        });
    });
    newBranches.forEach((_, i) => {
      if (!oldKeys.includes(newKeys[i]!))
        emit('add_union_branch', older.kind === 'union' ? pointer(older.path, '-') : older.path, field, {
          branch: newKeys[i],
        });
    });
    oldBranches.forEach((branch, i) => {
      const j = newKeys.indexOf(oldKeys[i]!);
      if (j >= 0) diffType(branch, newBranches[j]!, field);
    });
  };

  const diffRecord = (older: RecordNode, newer: RecordNode, parent: string): void => {
    const matched = new Set<FieldNode>();
    const byNewName = new Map(newer.fields.map((f) => [f.name, f]));
    for (const oldField of older.fields) {
      const named = byNewName.get(oldField.name);
      const byName = named && !matched.has(named) ? named : undefined;
      const byAlias = byName
        ? undefined
        : newer.fields.find((f) => !matched.has(f) && f.aliases.includes(oldField.name));
      const newField = byName ?? byAlias;
      const at = childPath(parent, oldField.name);
      if (!newField) {
        emit('remove_field', oldField.path, at, { field: fieldSummary(oldField) });
        continue;
      }
      matched.add(newField);
      if (byAlias)
        emit('rename_field', oldField.path, at, { from_name: oldField.name, to_name: newField.name });
      diffType(oldField.type, newField.type, at);
      diffDefault(oldField, newField, at);
    }
    for (const newField of newer.fields)
      if (!matched.has(newField))
        emit('add_field', pointer(older.path, 'fields', '-'), childPath(parent, newField.name), {
          field: fieldSummary(newField),
        });
  };

  const diffDefault = (older: FieldNode, newer: FieldNode, field: string): void => {
    const path = pointer(older.path, 'default');
    if (older.hasDefault && !newer.hasDefault)
      emit('remove_default', path, field, { from_default: older.default });
    else if (!older.hasDefault && newer.hasDefault)
      emit('add_default', path, field, { to_default: newer.default });
    else if (older.hasDefault && !sameJson(older.default, newer.default))
      emit('change_default', path, field, { from_default: older.default, to_default: newer.default });
  };

  const diffEnum = (older: EnumNode, newer: EnumNode, field: string): void => {
    older.symbols.forEach((symbol, i) => {
      if (!newer.symbols.includes(symbol))
        emit('remove_enum_symbol', pointer(older.path, 'symbols', i), field, { symbol });
    });
    for (const symbol of newer.symbols)
      if (!older.symbols.includes(symbol))
        emit('add_enum_symbol', pointer(older.path, 'symbols', '-'), field, { symbol });
    if (older.default !== newer.default)
      emit('change_enum_default', pointer(older.path, 'default'), field, {
        from_default: older.default ?? null,
        to_default: newer.default ?? null,
      });
  };

  diffType(oldRoot, newRoot, '');
  return changes;
}
