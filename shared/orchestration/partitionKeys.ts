/** Canonical partition keys (orchestration spec §2.2): `dim=tag:value(,dim=tag:value)*`, dims sorted. */
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
