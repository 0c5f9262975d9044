import {
  type AvroNode,
  branchKey,
  decimalOf,
  describeType,
  type NamedNode,
  type RecordNode,
} from './avroTypes.ts';

/**
 * Avro schema resolution as spec §6.3 states it, answering not just "can R read W" but why not: every
 * incompatibility names the field (dotted, `[]` for array items, `{}` for map values) and the pointers
 * into both documents.
 */
export interface Incompatibility {
  field_path: string;
  reader_path: string;
  writer_path: string;
  reason: string;
}

export type Compatibility = 'both' | 'backward' | 'forward' | 'none';
export type Classification = 'compatible' | 'backward' | 'forward' | 'breaking' | 'none';

/** Writer kind → the reader kinds it may be promoted to. */
const PROMOTIONS: Record<string, readonly string[]> = {
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  string: ['bytes'],
  bytes: ['string'],
};

export const isPromotion = (writerKind: string, readerKind: string): boolean =>
  PROMOTIONS[writerKind]?.includes(readerKind) ?? false;

const namesMatch = (reader: NamedNode, writer: NamedNode) =>
  reader.name === writer.name || reader.aliases.includes(writer.name);

const childPath = (parent: string, name: string) => (parent ? `${parent}.${name}` : name);

class ResolutionCheck {
  /** Named pairs under evaluation are assumed compatible (rule 5), so recursive schemas terminate. */
  private readonly assumed = new Set<string>();
  private readonly ids = new Map<AvroNode, number>();

  private idOf(node: AvroNode): number {
    let id = this.ids.get(node);
    if (id === undefined) this.ids.set(node, (id = this.ids.size + 1));
    return id;
  }

  check(reader: AvroNode, writer: AvroNode, field: string): Incompatibility[] {
    const problem = (reason: string): Incompatibility[] => [
      { field_path: field, reader_path: reader.path, writer_path: writer.path, reason },
    ];
    if (writer.kind === 'union') {
      // Rule 1: every branch the writer may have used must be readable.
      return writer.branches.flatMap((branch) => this.check(reader, branch, field));
    }
    if (reader.kind === 'union') {
      let closest: Incompatibility[] | null = null;
      for (const branch of reader.branches) {
        const issues = this.check(branch, writer, field);
        if (issues.length === 0) return [];
        if (branchKey(branch) === branchKey(writer) || branch.kind === writer.kind) closest ??= issues;
      }
      return (
        closest ??
        problem(`no branch of the reader's union ${describeType(reader)} can read ${describeType(writer)}`)
      );
    }
    if (reader.kind !== writer.kind) {
      if (isPromotion(writer.kind, reader.kind)) return [];
      return problem(`${describeType(writer)} cannot be read as ${describeType(reader)}`);
    }
    switch (reader.kind) {
      case 'array':
        return this.check(reader.items, (writer as typeof reader).items, `${field}[]`);
      case 'map':
        return this.check(reader.values, (writer as typeof reader).values, `${field}{}`);
      case 'record':
      case 'enum':
        return this.checkNamed(reader, writer as NamedNode, field, problem);
      case 'fixed': {
        const issues = this.checkNamed(reader, writer as NamedNode, field, problem);
        return issues.length > 0 ? issues : decimalIssues(reader, writer, problem);
      }
      default:
        return decimalIssues(reader, writer, problem);
    }
  }

  private checkNamed(
    reader: NamedNode,
    writer: NamedNode,
    field: string,
    problem: (reason: string) => Incompatibility[],
  ): Incompatibility[] {
    if (!namesMatch(reader, writer))
      return problem(
        `${reader.kind} ${reader.name} cannot read ${writer.kind} ${writer.name}: names differ and the reader has no alias ${writer.name}`,
      );
    if (reader.kind === 'fixed')
      return reader.size === (writer as typeof reader).size
        ? []
        : problem(
            `fixed ${reader.name} has size ${reader.size}, the writer's has ${(writer as typeof reader).size}`,
          );
    if (reader.kind === 'enum') {
      const missing = (writer as typeof reader).symbols.filter((s) => !reader.symbols.includes(s));
      return missing.length === 0 || reader.hasDefault
        ? []
        : problem(
            `enum ${reader.name} lacks symbol(s) ${missing.join(', ')} the writer may send, and has no default`,
          );
    }
    const key = `${this.idOf(reader)}:${this.idOf(writer)}`;
    if (this.assumed.has(key)) return [];
    this.assumed.add(key);
    try {
      return this.checkFields(reader, writer as RecordNode, field);
    } finally {
      this.assumed.delete(key);
    }
  }

  private checkFields(reader: RecordNode, writer: RecordNode, parent: string): Incompatibility[] {
    const issues: Incompatibility[] = [];
    const writerFields = new Map(writer.fields.map((w) => [w.name, w]));
    for (const field of reader.fields) {
      const matches = [...new Set([field.name, ...field.aliases])]
        .map((name) => writerFields.get(name))
        .filter((w) => w !== undefined)
        .sort((x, y) => writer.fields.indexOf(x) - writer.fields.indexOf(y));
      const at = childPath(parent, field.name);
      const problem = (reason: string, writerPath = writer.path) =>
        issues.push({ field_path: at, reader_path: field.path, writer_path: writerPath, reason });
      if (matches.length > 1)
        problem(
          `field ${at} matches several writer fields (${matches.map((m) => m.name).join(', ')}) through its aliases`,
        );
      else if (matches.length === 1) issues.push(...this.check(field.type, matches[0]!.type, at));
      else if (!field.hasDefault)
        problem(
          `field ${at} is required by the reader (no default) but the writer does not have it${
            field.aliases.length ? ` under its name or aliases ${field.aliases.join(', ')}` : ''
          }`,
          `${writer.path}/fields`,
        );
    }
    return issues;
  }
}

/**
 * Avro spec, "Logical Types / Decimal": "two schemas that are decimal logical types match if their
 * scales and precisions match". The same unscaled bytes mean another number under another scale, so
 * a mismatch is not a promotion but a mismatch of the underlying type. Other logical types are ignored
 * for resolution (registry spec §6.3 rule 6), and so is an invalid decimal (the spec reads it as its
 * underlying type).
 */
function decimalIssues(
  reader: AvroNode,
  writer: AvroNode,
  problem: (reason: string) => Incompatibility[],
): Incompatibility[] {
  const read = decimalOf(reader);
  const written = decimalOf(writer);
  if (!read || !written || (read.precision === written.precision && read.scale === written.scale)) return [];
  return problem(
    `decimal(precision ${written.precision}, scale ${written.scale}) cannot be read as decimal(precision ${read.precision}, scale ${read.scale}): Avro decimals match only when both precision and scale are equal`,
  );
}

/** Data written with `writer` can be decoded with `reader`, and if not, why not. */
export function resolutionIssues(reader: AvroNode, writer: AvroNode): Incompatibility[] {
  return new ResolutionCheck().check(reader, writer, '');
}

export const canRead = (reader: AvroNode, writer: AvroNode): boolean =>
  resolutionIssues(reader, writer).length === 0;

export interface CompatibilityVerdict {
  compatibility: Compatibility;
  /** What breaks for a reader on the new schema reading old data (backward) and the other way round. */
  backward_issues: Incompatibility[];
  forward_issues: Incompatibility[];
}

/** Spec §6.2: backward = the new schema reads old data; forward = the old schema reads new data. */
export function compareSchemas(oldSchema: AvroNode, newSchema: AvroNode): CompatibilityVerdict {
  const backward = resolutionIssues(newSchema, oldSchema);
  const forward = resolutionIssues(oldSchema, newSchema);
  const compatibility: Compatibility =
    backward.length === 0
      ? forward.length === 0
        ? 'both'
        : 'backward'
      : forward.length === 0
        ? 'forward'
        : 'none';
  return { compatibility, backward_issues: backward, forward_issues: forward };
}

const CLASSIFICATIONS: Record<Compatibility, Classification> = {
  both: 'compatible',
  backward: 'backward',
  forward: 'forward',
  none: 'breaking',
};

/** Spec §6.4; `null` compatibility means there was no base to compare with. */
export const classify = (compatibility: Compatibility | null): Classification =>
  compatibility === null ? 'none' : CLASSIFICATIONS[compatibility];

/** Whether a change satisfies a consumer's posture (spec §6.2). */
export function satisfies(actual: Compatibility, required: 'backward' | 'forward' | 'both'): boolean {
  return actual === 'both' || actual === required;
}
