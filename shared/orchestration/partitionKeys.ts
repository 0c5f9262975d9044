import type { PartitionDimension } from './codeLocationManifest.ts';

/**
 * Partition keys in two forms (docs/partition-keys.md):
 *
 * - **Canonical** (orchestration spec §2.2, ADR-011): `dim=tag:value(,dim=tag:value)*`, dims sorted by
 *   byte order, strings base64url. Internal only: it is what ledger events, run keys, fingerprints,
 *   projection rows, step-manifest paths and pointer paths are built from, so its bytes never change.
 * - **Plain**: what people write and read, `dim=value(|dim=value)*` (`date=2026-11-30|region=us east`),
 *   or a bare `value` when the asset has one dimension. `canonicalPartitionKey` types a plain key by
 *   the asset's declared dimensions; `plainPartitionKey` renders a canonical key back.
 */
export type PartitionValue =
  | { tag: 's'; value: string }
  | { tag: 'i'; value: string }
  | { tag: 'b'; value: 'true' | 'false' }
  | { tag: 'd'; value: string }
  | { tag: 't'; value: string }
  | { tag: 'n' };

export class InvalidPartitionKeyError extends Error {}

const DIM = /^[a-z][a-z0-9_]*$/;
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= DAYS[month - 1]!;
}

function parseValue(raw: string): PartitionValue {
  if (raw === 'n:null') return { tag: 'n' };
  const [tag, value] = [raw.slice(0, 1), raw.slice(2)];
  if (raw[1] !== ':') throw new InvalidPartitionKeyError(`partition value "${raw}" has no type tag`);
  switch (tag) {
    case 's':
      if (!/^[A-Za-z0-9_-]*$/.test(value)) throw new InvalidPartitionKeyError(`"${raw}" is not base64url`);
      return { tag, value };
    case 'i':
      if (!/^-?(0|[1-9]\d*)$/.test(value)) throw new InvalidPartitionKeyError(`"${raw}" is not an int64`);
      return { tag, value };
    case 'b':
      if (value !== 'true' && value !== 'false')
        throw new InvalidPartitionKeyError(`"${raw}" is not a boolean`);
      return { tag, value };
    case 'd':
      if (!validDate(value)) throw new InvalidPartitionKeyError(`"${raw}" is not a date YYYY-MM-DD`);
      return { tag, value };
    case 't':
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(value) || !validDate(value.slice(0, 10)))
        throw new InvalidPartitionKeyError(`"${raw}" is not a timestamp YYYY-MM-DDTHH:MM:SS.ffffffZ`);
      return { tag, value };
    default:
      throw new InvalidPartitionKeyError(`unknown partition value tag "${tag}"`);
  }
}

const render = (v: PartitionValue) => (v.tag === 'n' ? 'n:null' : `${v.tag}:${v.value}`);

export function parsePartitionKey(key: string): Map<string, PartitionValue> {
  const dims = new Map<string, PartitionValue>();
  if (key === '') return dims;
  for (const part of key.split(',')) {
    const eq = part.indexOf('=');
    const dim = part.slice(0, eq);
    if (eq <= 0 || !DIM.test(dim))
      throw new InvalidPartitionKeyError(`invalid partition dimension in "${part}"`);
    if (dims.has(dim)) throw new InvalidPartitionKeyError(`duplicate partition dimension "${dim}"`);
    dims.set(dim, parseValue(part.slice(eq + 1)));
  }
  return dims;
}

export function renderPartitionKey(dims: Map<string, PartitionValue>): string {
  return [...dims.keys()]
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((dim) => `${dim}=${render(dims.get(dim)!)}`)
    .join(',');
}

export const stringValue = (value: string): PartitionValue => ({
  tag: 's',
  value: Buffer.from(value).toString('base64url'),
});

/** Human form of a canonical key (`date=2026-11-22`), the worker's and the data's view of a partition. */
export function partitionValues(key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [dim, v] of parsePartitionKey(key))
    out[dim] =
      v.tag === 'n' ? '' : v.tag === 's' ? Buffer.from(v.value, 'base64url').toString('utf8') : v.value;
  return out;
}

const TAGGED_TEXT = /^[sibdtn]:/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;
/** The only escapes a plain value may contain (hex in either case). */
const ESCAPES: Record<string, string> = { '%25': '%', '%7C': '|', '%3D': '=', '%3A': ':' };

/** A value's text as people read it: dates and timestamps raw, strings decoded, null as the empty text. */
function valueText(v: PartitionValue): string {
  if (v.tag === 'n') return '';
  if (v.tag !== 's') return v.value;
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(v.value, 'base64url'));
}

/**
 * A value in a plain key: `%` → `%25` and `|` → `%7C`, and a value that starts with a tag letter and a
 * colon (`s:`, `d:`…) writes that colon as `%3A`, so no plain key is ever read as the tagged form.
 */
function plainValue(text: string): string {
  const escaped = text.replaceAll('%', '%25').replaceAll('|', '%7C');
  return TAGGED_TEXT.test(escaped) ? `${escaped[0]}%3A${escaped.slice(2)}` : escaped;
}

function decodePlainValue(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== '%') {
      out += raw[i];
      continue;
    }
    const escape = ESCAPES[raw.slice(i, i + 3).toUpperCase()];
    if (escape === undefined)
      throw new InvalidPartitionKeyError(
        `"%" in the partition value "${raw}" must start %25 (%), %7C (|), %3D (=) or %3A (:)`,
      );
    out += escape;
    i += 2;
  }
  return out;
}

/** A value's text as the dimension types it (spec §2.3 rule 4). */
function typedValue(dimension: PartitionDimension, text: string): PartitionValue {
  const where = `partition dimension ${dimension.name}`;
  if (text === '') throw new InvalidPartitionKeyError(`the value of ${where} is empty`);
  switch (dimension.kind) {
    case 'time': {
      const time = TIMESTAMP.exec(text);
      if (DATE.test(text) && dimension.granularity !== 'hour') {
        if (!validDate(text)) throw new InvalidPartitionKeyError(`${where}: ${text} is not a calendar date`);
        return { tag: 'd', value: text };
      }
      if (time && dimension.granularity !== 'day') {
        const [hour, minute, second] = [Number(time[2]), Number(time[3]), Number(time[4])];
        if (!validDate(time[1]!) || hour > 23 || minute > 59 || second > 59)
          throw new InvalidPartitionKeyError(`${where}: ${text} is not a valid time`);
        if (dimension.granularity === 'hour' && text.slice(14) !== '00:00.000000Z')
          throw new InvalidPartitionKeyError(`${where} is hourly: ${text} is not on the hour`);
        return { tag: 't', value: text };
      }
      throw new InvalidPartitionKeyError(
        dimension.granularity === 'hour'
          ? `${where} is hourly: write YYYY-MM-DDTHH:00:00.000000Z, not ${text}`
          : dimension.granularity === 'day'
            ? `${where} is daily: write a date YYYY-MM-DD, not ${text}`
            : `${where} is a time: write a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM:SS.ffffffZ, not ${text}`,
      );
    }
    case 'static':
      if (dimension.values?.length && !dimension.values.includes(text))
        throw new InvalidPartitionKeyError(
          `${where} takes one of ${dimension.values.join(', ')}, not ${text}`,
        );
      return stringValue(text);
    case 'tenant':
      return stringValue(text);
    default:
      throw new InvalidPartitionKeyError(`${where} has an unknown kind ${String(dimension.kind)}`);
  }
}

/** The tagged form, when `input` is one (the compatibility input); null when it is not. */
function taggedValues(input: string): Map<string, PartitionValue> | null {
  try {
    return parsePartitionKey(input);
  } catch {
    return null;
  }
}

/** Plain `dim=value|…` or a bare value, typed by `dimensions`. */
function plainValues(input: string, dimensions: readonly PartitionDimension[]) {
  const names = dimensions.map((d) => d.name);
  const segments = input.split('|');
  if (segments.length === 1 && !input.includes('=')) {
    if (dimensions.length !== 1)
      throw new InvalidPartitionKeyError(
        `partition key "${input}" names no dimension, and the asset has ${names.length}: write ${names.map((n) => `${n}=…`).join('|')}`,
      );
    return new Map([[names[0]!, typedValue(dimensions[0]!, decodePlainValue(input))]]);
  }
  const values = new Map<string, PartitionValue>();
  for (const segment of segments) {
    const eq = segment.indexOf('=');
    const dim = segment.slice(0, Math.max(eq, 0));
    if (eq < 0)
      throw new InvalidPartitionKeyError(
        `"${segment}" in partition key "${input}" names no dimension: write each part as dim=value`,
      );
    const dimension = dimensions.find((d) => d.name === dim);
    if (!dimension)
      throw new InvalidPartitionKeyError(
        `unknown partition dimension "${dim}" in "${input}": the asset is partitioned by ${names.join(', ')}`,
      );
    if (values.has(dim))
      throw new InvalidPartitionKeyError(`duplicate partition dimension "${dim}" in "${input}"`);
    values.set(dim, typedValue(dimension, decodePlainValue(segment.slice(eq + 1))));
  }
  return values;
}

/**
 * A partition key as a person writes it, in the canonical form of an asset partitioned by `dimensions`.
 *
 * Accepted input (docs/partition-keys.md):
 * - plain `dim=value` parts joined by `|`, in any order (`date=2026-11-30|region=us east`);
 * - a bare `value` when the asset has exactly one dimension (`2026-11-30` on a daily asset names its one
 *   time dimension, whatever it is called);
 * - the tagged canonical form itself, in any dimension order (`date=d:2026-11-30`), kept for
 *   compatibility: an input that parses as the tagged grammar is read as tagged.
 *
 * Values are typed by their dimension: `time` takes a date `YYYY-MM-DD` (daily, `d:`) or a time
 * `YYYY-MM-DDTHH:MM:SS.ffffffZ` (hourly, on the hour, `t:`); `static` and `tenant` take any non-empty
 * text (`s:`), a static one only from its declared `values`. In a plain value `%25`, `%7C`, `%3D` and
 * `%3A` stand for `%`, `|`, `=` and `:` (any other `%` is refused); `=` after the dimension's own `=`
 * needs no escape. A tagged value must be the tag its dimension produces, strings canonical base64url
 * of UTF-8.
 *
 * @returns the canonical key (dims sorted), at most 1024 characters
 * @throws InvalidPartitionKeyError naming the problem: empty input, a bare value for an asset with
 *   several dimensions (ambiguous), an unknown, missing or repeated dimension, a value its dimension
 *   does not take, a bad escape, or an unpartitioned asset (`dimensions` empty)
 */
export function canonicalPartitionKey(input: string, dimensions: readonly PartitionDimension[]): string {
  if (!dimensions.length) throw new InvalidPartitionKeyError('the asset is not partitioned');
  if (input === '') throw new InvalidPartitionKeyError('the partition key is empty');
  const tagged = taggedValues(input);
  const values = tagged ?? plainValues(input, dimensions);
  if (tagged)
    for (const [dim, value] of tagged) {
      const dimension = dimensions.find((d) => d.name === dim);
      if (!dimension) continue;
      let expected: PartitionValue | undefined;
      try {
        expected = typedValue(dimension, valueText(value));
      } catch {
        expected = undefined;
      }
      if (!expected || render(expected) !== render(value))
        throw new InvalidPartitionKeyError(
          `"${input}" reads as the tagged form, and ${dim} does not take ${render(value)}` +
            (expected ? ` (write ${dim}=${plainValue(valueText(value))})` : '') +
            `; to mean the text "${render(value)}", write ${dim}=${plainValue(render(value))}`,
        );
    }
  const names = dimensions.map((d) => d.name);
  const got = [...values.keys()];
  const unknown = got.filter((d) => !names.includes(d));
  const missing = names.filter((d) => !values.has(d));
  if (unknown.length || missing.length)
    throw new InvalidPartitionKeyError(
      `partition key "${input}" ${missing.length ? `has no value for ${missing.join(', ')}` : `names unknown dimension(s) ${unknown.join(', ')}`}: the asset is partitioned by ${names.join(', ')}`,
    );
  const key = renderPartitionKey(values);
  if (key.length > 1024)
    throw new InvalidPartitionKeyError('the partition key is longer than 1024 characters');
  return key;
}

/**
 * The plain form of a canonical key (`date=2026-11-30|region=us east`): dimensions in byte order,
 * `dim=value` joined by `|`, values escaped as `canonicalPartitionKey` reads them, so for every key it
 * produces, `canonicalPartitionKey(plainPartitionKey(k), dims) === k`. A string that is not a canonical
 * key (a worker's own text, an empty key) is returned as it is.
 */
export function plainPartitionKey(key: string): string {
  const values = taggedValues(key);
  if (!values?.size) return key;
  try {
    return [...values.keys()]
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map((dim) => `${dim}=${plainValue(valueText(values.get(dim)!))}`)
      .join('|');
  } catch {
    return key;
  }
}

/** Characters Hive and Spark escape in partition directory names (Spark's `escapePathName`). */
const HIVE_SPECIAL = new Set('"#%\'*/:=?\\{[]^');
const hiveEscape = (text: string) =>
  [...text]
    .map((c) => {
      const code = c.codePointAt(0)!;
      return code < 0x20 || code === 0x7f || HIVE_SPECIAL.has(c)
        ? `%${code.toString(16).toUpperCase().padStart(2, '0')}`
        : c;
    })
    .join('');

/**
 * A canonical key as Delta and Hive name a partition directory, `date=2026-11-30` or
 * `date=2026-11-30/region=us east` (dimensions in byte order, Spark's escaping, null as
 * `__HIVE_DEFAULT_PARTITION__`): how `deltaPartition` is shown. Anything else (a worker's own
 * `deltaPartition`) is returned as it is.
 */
export function hivePartitionPath(key: string): string {
  const values = taggedValues(key);
  if (!values?.size) return key;
  try {
    return [...values.keys()]
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map((dim) => {
        const value = values.get(dim)!;
        return `${hiveEscape(dim)}=${value.tag === 'n' ? '__HIVE_DEFAULT_PARTITION__' : hiveEscape(valueText(value))}`;
      })
      .join('/');
  } catch {
    return key;
  }
}

/**
 * Whether a partition key as a person wrote it (plain, bare or tagged) names the canonical key `key`,
 * where the asset's partitioning is not at hand (a filter over runs of many assets): parts are compared
 * by dimension and value text, and a bare value matches a key of one dimension with that value.
 *
 * @throws InvalidPartitionKeyError for a malformed input (a bad escape, a part without a dimension)
 */
export function partitionKeyMatches(input: string, key: string): boolean {
  const want = writtenParts(input);
  let have: Record<string, string>;
  try {
    have = partitionValues(key);
  } catch {
    return input === key;
  }
  const dims = Object.keys(have);
  if (typeof want === 'string') return dims.length === 1 && have[dims[0]!] === want;
  return want.size === dims.length && [...want].every(([dim, text]) => have[dim] === text);
}

/** A key as written, without typing it: a bare value's text, or each dimension's text. */
function writtenParts(input: string): string | Map<string, string> {
  const tagged = taggedValues(input);
  const parts = new Map<string, string>();
  if (tagged) {
    for (const [dim, value] of tagged)
      try {
        parts.set(dim, valueText(value));
      } catch {
        throw new InvalidPartitionKeyError(
          `the value of ${dim} in "${input}" is not base64url of UTF-8 text`,
        );
      }
    return parts;
  }
  if (!input.includes('=')) return decodePlainValue(input);
  for (const segment of input.split('|')) {
    const eq = segment.indexOf('=');
    if (eq < 0)
      throw new InvalidPartitionKeyError(
        `"${segment}" in partition key "${input}" names no dimension: write each part as dim=value`,
      );
    parts.set(segment.slice(0, eq), decodePlainValue(segment.slice(eq + 1)));
  }
  return parts;
}
