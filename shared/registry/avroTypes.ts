/**
 * A resolved view of an Avro schema document: every type node knows its JSON Pointer in the document,
 * and named-type references are the very node of their definition (so recursion is a cycle, and a
 * change inside a referenced type is reported where it is defined, spec §8.1).
 */
export const PRIMITIVES = ['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'] as const;
export type PrimitiveName = (typeof PRIMITIVES)[number];

interface NodeBase {
  /** RFC 6901 pointer to where this type is written (or defined, for a named type). */
  path: string;
  /** The declared JSON of this type, verbatim. */
  json: unknown;
  logical: LogicalAttributes | null;
}

export interface LogicalAttributes {
  logicalType: string;
  precision?: unknown;
  scale?: unknown;
}

export interface PrimitiveNode extends NodeBase {
  kind: PrimitiveName;
}

interface NamedBase extends NodeBase {
  /** Unqualified name; namespaces are ignored when matching (spec §6.3 rule 4). */
  name: string;
  fullName: string;
  /** Unqualified aliases. */
  aliases: string[];
}

export interface FieldNode {
  name: string;
  aliases: string[];
  type: AvroNode;
  hasDefault: boolean;
  default: unknown;
  /** The field's declaration, verbatim. */
  json: Record<string, unknown>;
  /** Pointer to the field object (`…/fields/3`). */
  path: string;
}

export interface RecordNode extends NamedBase {
  kind: 'record';
  fields: FieldNode[];
}

export interface EnumNode extends NamedBase {
  kind: 'enum';
  symbols: string[];
  hasDefault: boolean;
  default: string | undefined;
}

export interface FixedNode extends NamedBase {
  kind: 'fixed';
  size: number;
}

export interface ArrayNode extends NodeBase {
  kind: 'array';
  items: AvroNode;
}

export interface MapNode extends NodeBase {
  kind: 'map';
  values: AvroNode;
}

export interface UnionNode extends NodeBase {
  kind: 'union';
  branches: AvroNode[];
}

export type NamedNode = RecordNode | EnumNode | FixedNode;
export type AvroNode = PrimitiveNode | NamedNode | ArrayNode | MapNode | UnionNode;

export const isNamed = (node: AvroNode): node is NamedNode =>
  node.kind === 'record' || node.kind === 'enum' || node.kind === 'fixed';

const unqualify = (name: string) => name.slice(name.lastIndexOf('.') + 1);
const escapePointer = (segment: string | number) => String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
export const pointer = (base: string, ...segments: Array<string | number>) =>
  `${base}${segments.map((s) => `/${escapePointer(s)}`).join('')}`;

function qualify(name: string, namespace: string): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

function logicalOf(json: Record<string, unknown>): LogicalAttributes | null {
  if (typeof json.logicalType !== 'string') return null;
  return {
    logicalType: json.logicalType,
    ...(json.precision !== undefined ? { precision: json.precision } : {}),
    ...(json.scale !== undefined ? { scale: json.scale } : {}),
  };
}

/**
 * Builds the node tree of a schema that avsc has already accepted (so every reference resolves).
 * Throws on a reference it cannot resolve, which would mean the two parsers disagree.
 */
export function resolveAvro(schema: unknown): AvroNode {
  const named = new Map<string, NamedNode>();

  const build = (json: unknown, path: string, namespace: string): AvroNode => {
    if (typeof json === 'string') {
      if ((PRIMITIVES as readonly string[]).includes(json))
        return { kind: json as PrimitiveName, path, json, logical: null };
      const found = named.get(qualify(json, namespace)) ?? named.get(json);
      if (!found) throw new Error(`unresolved type reference ${json} at ${path || '/'}`);
      return found;
    }
    if (Array.isArray(json))
      return {
        kind: 'union',
        path,
        json,
        logical: null,
        branches: json.map((branch, i) => build(branch, pointer(path, i), namespace)),
      };
    const object = json as Record<string, unknown>;
    const type = object.type;
    const logical = logicalOf(object);
    if (typeof type !== 'string') return build(type, pointer(path, 'type'), namespace);
    if ((PRIMITIVES as readonly string[]).includes(type))
      return { kind: type as PrimitiveName, path, json, logical };
    if (type === 'array')
      return {
        kind: 'array',
        path,
        json,
        logical,
        items: build(object.items, pointer(path, 'items'), namespace),
      };
    if (type === 'map')
      return {
        kind: 'map',
        path,
        json,
        logical,
        values: build(object.values, pointer(path, 'values'), namespace),
      };
    if (type !== 'record' && type !== 'error' && type !== 'enum' && type !== 'fixed')
      return build(type, path, namespace);
    const ownNamespace = typeof object.namespace === 'string' ? object.namespace : namespace;
    const fullName = qualify(String(object.name), ownNamespace);
    const innerNamespace = fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : '';
    const aliases = Array.isArray(object.aliases) ? object.aliases.map((a) => unqualify(String(a))) : [];
    const base = { path, json, logical, name: unqualify(fullName), fullName, aliases };
    if (type === 'enum') {
      const node: EnumNode = {
        ...base,
        kind: 'enum',
        symbols: (object.symbols as string[]) ?? [],
        hasDefault: object.default !== undefined,
        default: object.default as string | undefined,
      };
      named.set(fullName, node);
      return node;
    }
    if (type === 'fixed') {
      const node: FixedNode = { ...base, kind: 'fixed', size: Number(object.size) };
      named.set(fullName, node);
      return node;
    }
    const node: RecordNode = { ...base, kind: 'record', fields: [] };
    // Registered before its fields are built, so a field may refer back to its own record.
    named.set(fullName, node);
    const fields = (object.fields as Array<Record<string, unknown>>) ?? [];
    node.fields = fields.map((field, i) => {
      const fieldPath = pointer(path, 'fields', i);
      return {
        name: String(field.name),
        aliases: Array.isArray(field.aliases) ? field.aliases.map(String) : [],
        type: build(field.type, pointer(fieldPath, 'type'), innerNamespace),
        hasDefault: field.default !== undefined,
        default: field.default,
        json: field,
        path: fieldPath,
      };
    });
    return node;
  };

  return build(schema, '', '');
}

export interface DecimalAttributes {
  precision: number;
  scale: number;
}

/**
 * The precision and scale of a valid `decimal` (Avro spec, "Logical Types / Decimal"): on `bytes` or
 * `fixed`; `precision` a positive integer, for a fixed of n bytes at most floor(log10(2^(8n−1) − 1))
 * digits; `scale` an integer from 0 (its default when absent) to `precision`. Null for any other node,
 * including an invalid decimal, which the spec says to read as its underlying type.
 */
export function decimalOf(node: AvroNode): DecimalAttributes | null {
  if (node.logical?.logicalType !== 'decimal' || (node.kind !== 'bytes' && node.kind !== 'fixed'))
    return null;
  const { precision, scale = 0 } = node.logical;
  if (typeof precision !== 'number' || !Number.isInteger(precision) || precision < 1) return null;
  if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || scale > precision) return null;
  // 2^(8n−1) − 1 is never a power of ten, so its log10 rounds down like (8n − 1)·log10(2) does.
  if (node.kind === 'fixed' && (node.size < 1 || precision > Math.floor((8 * node.size - 1) * Math.log10(2))))
    return null;
  return { precision, scale };
}

/** How a type reads in a message: `string`, `timestamp-millis(long)`, `array<int>`, `Address`, `[null, string]`. */
export function describeType(node: AvroNode): string {
  switch (node.kind) {
    case 'array':
      return `array<${describeType(node.items)}>`;
    case 'map':
      return `map<${describeType(node.values)}>`;
    case 'union':
      return `[${node.branches.map(describeType).join(', ')}]`;
    case 'record':
    case 'enum':
    case 'fixed':
      return `${node.kind} ${node.name}`;
    default:
      return node.logical ? `${node.logical.logicalType}(${node.kind})` : node.kind;
  }
}

/** The key a union branch is known by: a primitive's name, `array`, `map`, or the named type's name. */
export const branchKey = (node: AvroNode): string => (isNamed(node) ? node.name : node.kind);
