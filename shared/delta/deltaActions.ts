import { decodeAddPath, InvalidAddPathError } from './deltaPaths.ts';

/**
 * Validation of a commit payload against the public Delta protocol (spec A10): newline-delimited JSON,
 * each line one object with exactly one known action key, protocol + metaData in version 0, at most one
 * metaData per commit, file paths that decode to files under the table root, and the protocol's rules
 * on logical files within one commit. `validateAgainstTable` adds the checks that need the table's
 * metaData (partition values).
 */

/** Where in a payload a refusal points: the action kind and, for file actions, its logged path. */
export interface DeltaPayloadErrorContext {
  action?: string;
  path?: string;
}

/** A payload refused by the protocol checks; `line` is 1-based, 0 for the payload as a whole. */
export class DeltaPayloadError extends Error {
  constructor(
    readonly line: number,
    reason: string,
    readonly context: DeltaPayloadErrorContext = {},
  ) {
    super(
      line > 0
        ? `line ${line}${context.path !== undefined ? ` (${context.action} ${JSON.stringify(context.path)})` : ''}: ${reason}`
        : reason,
    );
  }

  /** The API's error details: 1-based `line`, 0-based `action_index`, and the action kind and path. */
  get details(): Record<string, unknown> {
    return {
      line: this.line,
      ...(this.line > 0 ? { action_index: this.line - 1 } : {}),
      ...this.context,
    };
  }
}

const ACTIONS = new Set([
  'protocol',
  'metaData',
  'add',
  'remove',
  'commitInfo',
  'txn',
  'cdc',
  'domainMetadata',
]);

type Action = Record<string, unknown>;

const isObject = (value: unknown): value is Action =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const need = (line: number, ok: boolean, reason: string, context?: DeltaPayloadErrorContext) => {
  if (!ok) throw new DeltaPayloadError(line, reason, context);
};

/** A file action whose partitionValues do not fit the table's partition columns and their types. */
export class PartitionValuesError extends DeltaPayloadError {}

const FILE_ACTIONS = new Set(['add', 'remove', 'cdc']);

/** The logged path must decode (RFC 2396, per segment) to an object under the table root. */
function checkFilePath(line: number, kind: string, path: unknown) {
  need(line, typeof path === 'string' && path !== '', `${kind}.path must be a non-empty string`, {
    action: kind,
  });
  try {
    decodeAddPath(path as string);
  } catch (error) {
    if (!(error instanceof InvalidAddPathError)) throw error;
    throw new DeltaPayloadError(line, `${kind}.path ${error.message}`, {
      action: kind,
      path: path as string,
    });
  }
}

/** Delta protocol, Deletion Vector Descriptor: storage type u/i/p, its payload, size and cardinality. */
function checkDeletionVector(line: number, kind: string, action: Action) {
  const dv = action.deletionVector;
  if (dv === undefined || dv === null) return;
  const context = { action: kind, path: String(action.path) };
  const at = `${kind}.deletionVector`;
  need(line, isObject(dv), `${at} must be an object or null`, context);
  const d = dv as Action;
  need(
    line,
    d.storageType === 'u' || d.storageType === 'i' || d.storageType === 'p',
    `${at}.storageType must be "u", "i" or "p"`,
    context,
  );
  need(
    line,
    typeof d.pathOrInlineDv === 'string' && d.pathOrInlineDv !== '',
    `${at}.pathOrInlineDv must be a non-empty string`,
    context,
  );
  if (d.offset !== undefined && d.offset !== null)
    need(
      line,
      d.storageType !== 'i' && Number.isInteger(d.offset) && (d.offset as number) >= 0,
      `${at}.offset must be a non-negative integer, absent for inline vectors`,
      context,
    );
  need(
    line,
    Number.isInteger(d.sizeInBytes) && (d.sizeInBytes as number) >= 0,
    `${at}.sizeInBytes must be a non-negative integer`,
    context,
  );
  need(
    line,
    Number.isInteger(d.cardinality) && (d.cardinality as number) >= 0,
    `${at}.cardinality must be a non-negative integer`,
    context,
  );
}

/**
 * The unique id of a deletion vector descriptor, or null when the file has none. Delta protocol,
 * Deletion Vectors, derived field `uniqueId`: `<storageType><pathOrInlineDv>`, plus `@<offset>` when an
 * offset is present. Together with the decoded path it is the key of a logical file.
 */
export function deletionVectorId(deletionVector: unknown): string | null {
  if (!isObject(deletionVector)) return null;
  const { storageType, pathOrInlineDv, offset } = deletionVector;
  const base = `${String(storageType)}${String(pathOrInlineDv)}`;
  return offset === undefined || offset === null ? base : `${base}@${String(offset)}`;
}

/**
 * The key of a logical file (Delta protocol, Add File and Remove File): its decoded path and the
 * unique id of its deletion vector. Spellings of one path that decode alike are one file. A path that
 * does not decode (only in logs written before paths were checked) keys by its text, so replay still
 * works; reading such a file fails where it is resolved.
 */
export function logicalFileKey(path: string, deletionVector: unknown): string {
  let decoded = path;
  try {
    decoded = decodeAddPath(path);
  } catch (error) {
    if (!(error instanceof InvalidAddPathError)) throw error;
  }
  return JSON.stringify([decoded, deletionVectorId(deletionVector)]);
}

function checkAction(line: number, kind: string, action: Action) {
  switch (kind) {
    case 'protocol':
      need(line, Number.isInteger(action.minReaderVersion), 'protocol.minReaderVersion must be an integer');
      need(line, Number.isInteger(action.minWriterVersion), 'protocol.minWriterVersion must be an integer');
      break;
    case 'metaData':
      need(line, typeof action.id === 'string' && action.id !== '', 'metaData.id must be a non-empty string');
      need(
        line,
        isObject(action.format) && typeof action.format.provider === 'string',
        'metaData.format.provider is required',
      );
      need(line, typeof action.schemaString === 'string', 'metaData.schemaString must be a string');
      need(
        line,
        Array.isArray(action.partitionColumns) && action.partitionColumns.every((c) => typeof c === 'string'),
        'metaData.partitionColumns must be an array of strings',
      );
      if (typeof action.schemaString === 'string') {
        try {
          need(line, isObject(JSON.parse(action.schemaString)), 'metaData.schemaString must encode a struct');
        } catch (error) {
          if (error instanceof DeltaPayloadError) throw error;
          throw new DeltaPayloadError(line, 'metaData.schemaString is not valid JSON');
        }
      }
      break;
    case 'add':
      checkFilePath(line, kind, action.path);
      need(line, isObject(action.partitionValues), 'add.partitionValues must be an object');
      need(
        line,
        Number.isInteger(action.size) && (action.size as number) >= 0,
        'add.size must be a non-negative integer',
      );
      need(line, Number.isInteger(action.modificationTime), 'add.modificationTime must be an integer (ms)');
      need(line, typeof action.dataChange === 'boolean', 'add.dataChange must be a boolean');
      if (action.stats !== undefined)
        need(line, typeof action.stats === 'string', 'add.stats must be a JSON string');
      checkDeletionVector(line, kind, action);
      break;
    case 'remove':
      checkFilePath(line, kind, action.path);
      need(line, typeof action.dataChange === 'boolean', 'remove.dataChange must be a boolean');
      if (action.partitionValues !== undefined && action.partitionValues !== null)
        need(line, isObject(action.partitionValues), 'remove.partitionValues must be an object');
      checkDeletionVector(line, kind, action);
      break;
    case 'cdc':
      checkFilePath(line, kind, action.path);
      need(line, isObject(action.partitionValues), 'cdc.partitionValues must be an object');
      break;
    case 'txn':
      need(line, typeof action.appId === 'string', 'txn.appId must be a string');
      need(line, Number.isInteger(action.version), 'txn.version must be an integer');
      break;
    case 'domainMetadata':
      need(line, typeof action.domain === 'string', 'domainMetadata.domain must be a string');
      break;
  }
}

/**
 * Throws DeltaPayloadError naming the first bad line; `version` is the version the payload would become.
 * File actions follow the Delta protocol (Add File and Remove File): at most one `add` and at most one
 * `remove` per path, and an `add` and a `remove` of one path only with different deletion vectors (what
 * engines write for DELETE/UPDATE with deletion vectors); `cdc` paths are free.
 */
export function validateDeltaPayload(payload: string, version: number): void {
  const lines = payload.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (!lines.length) throw new DeltaPayloadError(0, 'payload has no actions');
  const seen = new Map<string, number>();
  const pathsOf = { add: new Map<string, string | null>(), remove: new Map<string, string | null>() };
  lines.forEach((text, index) => {
    const line = index + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new DeltaPayloadError(line, 'not valid JSON');
    }
    need(line, isObject(parsed), 'each line must be a JSON object');
    const keys = Object.keys(parsed as Action);
    need(line, keys.length === 1, `each line must hold exactly one action, found ${keys.length}`);
    const kind = keys[0]!;
    need(line, ACTIONS.has(kind), `unknown action "${kind}"`);
    const action = (parsed as Action)[kind];
    need(line, isObject(action), `${kind} must be an object`);
    checkAction(line, kind, action as Action);
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    if (kind === 'metaData') need(line, seen.get(kind) === 1, 'at most one metaData action per commit');
    if (kind === 'protocol') need(line, seen.get(kind) === 1, 'at most one protocol action per commit');
    if (kind === 'add' || kind === 'remove') {
      const file = action as Action;
      const path = String(file.path);
      const decoded = decodeAddPath(path);
      const dvId = deletionVectorId(file.deletionVector);
      const context = { action: kind, path };
      const verb = kind === 'add' ? 'added' : 'removed';
      need(line, !pathsOf[kind].has(decoded), `path "${path}" is ${verb} twice in one commit`, context);
      const other = pathsOf[kind === 'add' ? 'remove' : 'add'];
      need(
        line,
        !other.has(decoded) || other.get(decoded) !== dvId,
        `path "${path}" is added and removed with the same deletion vector in one commit`,
        context,
      );
      pathsOf[kind].set(decoded, dvId);
    }
  });
  if (version === 0) {
    if (!seen.has('protocol')) throw new DeltaPayloadError(0, 'version 0 must contain a protocol action');
    if (!seen.has('metaData')) throw new DeltaPayloadError(0, 'version 0 must contain a metaData action');
  }
}

/** The parts of a Delta `metaData` action that constrain the files of a commit. */
export interface TableMetaData {
  schemaString: string;
  partitionColumns: string[];
  configuration?: Record<string, string>;
}

/** A partition column: its name, the key `partitionValues` use for it, and its Delta type (null: unknown). */
export interface PartitionColumn {
  name: string;
  key: string;
  type: string | null;
}

export class InvalidTableDefinitionError extends Error {}

/**
 * The partition columns of a table from its metaData, typed from its schema. A table with an empty
 * schema (created without one) has untyped partition columns. With column mapping (`name` or `id`)
 * partition values are keyed by each column's physical name (Delta protocol, Column Mapping).
 * Throws InvalidTableDefinitionError when the schema is not a struct, when a partition column is
 * missing from a non-empty schema, or when it has a nested type.
 */
export function partitionColumnsOf(meta: TableMetaData): PartitionColumn[] {
  let schema: unknown;
  try {
    schema = JSON.parse(meta.schemaString);
  } catch {
    throw new InvalidTableDefinitionError('schemaString is not valid JSON');
  }
  if (!isObject(schema) || !Array.isArray(schema.fields))
    throw new InvalidTableDefinitionError('schemaString must encode a struct with fields');
  const fields = (schema.fields as unknown[]).filter(isObject);
  const mode = meta.configuration?.['delta.columnMapping.mode'];
  const mapped = mode === 'name' || mode === 'id';
  return meta.partitionColumns.map((name) => {
    const field = fields.find((f) => f.name === name);
    if (!field) {
      if (fields.length)
        throw new InvalidTableDefinitionError(`partition column "${name}" is not a column of the schema`);
      return { name, key: name, type: null };
    }
    if (typeof field.type !== 'string')
      throw new InvalidTableDefinitionError(`partition column "${name}" must have a primitive type`);
    const physical = isObject(field.metadata)
      ? field.metadata['delta.columnMapping.physicalName']
      : undefined;
    return { name, key: mapped && typeof physical === 'string' ? physical : name, type: field.type };
  });
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

function validDate(year: string, month: string, day: string): boolean {
  const [y, m, d] = [Number(year), Number(month), Number(day)];
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= (m === 2 && !isLeap(y) ? 28 : DAYS_IN_MONTH[m - 1]!);
}

const validTime = (h: string, m: string, s: string) => Number(h) < 24 && Number(m) < 60 && Number(s) < 60;

const INTEGER_RANGE: Record<string, [bigint, bigint]> = {
  byte: [-(2n ** 7n), 2n ** 7n - 1n],
  short: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** Why a decimal string does not fit decimal(precision, scale), or null when it does. */
function decimalProblem(value: string, precision: number, scale: number): string | null {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(value);
  if (!m || `${m[1]}${m[2] ?? ''}` === '') return 'is not a decimal number';
  let digits = `${m[1]}${m[2] ?? ''}`.replace(/^0+/, '');
  let exponent = Number(m[3] ?? 0) - (m[2] ?? '').length;
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    exponent += 1;
  }
  if (digits === '') return null;
  const fraction = Math.max(0, -exponent);
  const integer = Math.max(0, digits.length + exponent);
  if (fraction > scale) return `has more than ${scale} digits after the point`;
  if (integer > precision - scale) return `has more than ${precision - scale} digits before the point`;
  return null;
}

/**
 * Why a serialised partition value does not parse as the Delta type, or null when it does. Delta
 * protocol, Partition Value Serialization: numbers as their string form, dates `YYYY-MM-DD`,
 * timestamps `YYYY-MM-DD hh:mm:ss[.ffffff]` or ISO 8601 in UTC (`…T…[.ffffff]Z`), timestamp_ntz
 * without a zone, booleans `true`/`false`; strings and binary are free. Unknown types are not checked.
 */
export function partitionValueProblem(type: string, value: string): string | null {
  const integerRange = INTEGER_RANGE[type];
  if (integerRange) {
    if (!/^[+-]?\d+$/.test(value)) return `is not an integer (${type})`;
    const n = BigInt(value);
    return n < integerRange[0] || n > integerRange[1] ? `is out of range for ${type}` : null;
  }
  const decimal = /^decimal(?:\((\d+),\s*(\d+)\))?$/.exec(type);
  if (decimal) {
    const problem = decimalProblem(value, Number(decimal[1] ?? 10), Number(decimal[2] ?? 0));
    return problem && `${problem} (${type})`;
  }
  switch (type) {
    case 'boolean':
      return value === 'true' || value === 'false' ? null : 'is not "true" or "false" (boolean)';
    case 'float':
    case 'double':
      return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value) || /^[+-]?(NaN|Infinity)$/.test(value)
        ? null
        : `is not a number (${type})`;
    case 'date': {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
      return m && validDate(m[1]!, m[2]!, m[3]!) ? null : 'is not a date YYYY-MM-DD';
    }
    case 'timestamp':
    case 'timestamp_ntz': {
      const zone = type === 'timestamp' ? '|T(\\d{2}):(\\d{2}):(\\d{2})(?:\\.\\d{1,6})?Z' : '';
      const m = new RegExp(
        `^(\\d{4})-(\\d{2})-(\\d{2})(?: (\\d{2}):(\\d{2}):(\\d{2})(?:\\.\\d{1,6})?${zone})$`,
      ).exec(value);
      const [h, min, s] = m ? (m[4] !== undefined ? [m[4], m[5], m[6]] : [m[7], m[8], m[9]]) : [];
      return m && validDate(m[1]!, m[2]!, m[3]!) && validTime(h!, min!, s!)
        ? null
        : type === 'timestamp'
          ? 'is not a timestamp "YYYY-MM-DD hh:mm:ss[.ffffff]" or "YYYY-MM-DDThh:mm:ss[.ffffff]Z"'
          : 'is not a timestamp_ntz "YYYY-MM-DD hh:mm:ss[.ffffff]"';
    }
    default:
      return null;
  }
}

/** The metaData action of a payload or log entry, if it has one (the text is not validated here). */
export function findMetaData(text: string): TableMetaData | null {
  for (const line of text.split('\n')) {
    if (!line.includes('"metaData"')) continue;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (isObject(parsed.metaData)) return parsed.metaData as unknown as TableMetaData;
  }
  return null;
}

/**
 * Checks a payload (already passed by validateDeltaPayload) against the table it is committed to:
 * `partitionValues` of every `add`, `cdc` and `remove` (when a remove carries them) must have exactly
 * the table's partition columns as keys, each value null or a string that parses as the column's type
 * (see partitionValueProblem; "" means null). The payload's own metaData, if any, is the table's from
 * this version on, so its files are checked against it; else `table` (the metaData at read_version).
 * Throws DeltaPayloadError naming the line, action and path.
 */
export function validateAgainstTable(payload: string, table: TableMetaData | null): void {
  const lines = payload.split('\n');
  const metaLine = lines.findIndex((l) => findMetaData(l) !== null);
  const meta = metaLine >= 0 ? findMetaData(lines[metaLine]!) : table;
  if (!meta) throw new DeltaPayloadError(0, 'the table has no metaData to check the commit against');
  let columns: PartitionColumn[];
  try {
    columns = partitionColumnsOf(meta);
  } catch (error) {
    if (!(error instanceof InvalidTableDefinitionError)) throw error;
    throw new DeltaPayloadError(metaLine + 1, `metaData: ${error.message}`, { action: 'metaData' });
  }
  const expected = columns.map((c) => c.key);
  const fits = (line: number, ok: boolean, reason: string, context: DeltaPayloadErrorContext) => {
    if (!ok) throw new PartitionValuesError(line, reason, context);
  };
  lines.forEach((text, index) => {
    if (text === '') return;
    const parsed = JSON.parse(text) as Record<string, Action>;
    const kind = Object.keys(parsed)[0]!;
    if (!FILE_ACTIONS.has(kind)) return;
    const action = parsed[kind]!;
    const values = action.partitionValues;
    if (kind === 'remove' && (values === undefined || values === null)) return;
    const line = index + 1;
    const context = { action: kind, path: String(action.path) };
    const keys = Object.keys(values as Action);
    const missing = expected.filter((k) => !keys.includes(k));
    const extra = keys.filter((k) => !expected.includes(k));
    fits(
      line,
      !missing.length && !extra.length,
      `partitionValues must have exactly the partition columns [${expected.join(', ')}]` +
        (missing.length ? `; missing [${missing.join(', ')}]` : '') +
        (extra.length ? `; not partition columns [${extra.join(', ')}]` : ''),
      context,
    );
    for (const column of columns) {
      const value = (values as Action)[column.key];
      if (value === null || value === '') continue;
      fits(
        line,
        typeof value === 'string',
        `partitionValues.${column.key} must be a string or null`,
        context,
      );
      const problem = column.type === null ? null : partitionValueProblem(column.type, value as string);
      fits(
        line,
        problem === null,
        `partitionValues.${column.key} ${JSON.stringify(value)} ${problem}`,
        context,
      );
    }
  });
}
