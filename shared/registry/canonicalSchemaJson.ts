import canonicalize from 'canonicalize';
import { containsBigInt } from '../core/losslessJson.ts';

/**
 * RFC 8785 (JCS) text of any JSON value: schema hashes and request fingerprints are defined on it.
 * A `bigint` (an integer beyond 2^53 kept exact by the registry's parser) is written as its digits:
 * JCS serialises numbers as float64, which would make 9223372036854775807 and 9223372036854775806
 * one text and so one schema hash. Values without a `bigint` get exactly the JCS text of `canonicalize`,
 * so the hashes of schemas stored before keep their values.
 */
export function canonicalJsonText(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object' || !containsBigInt(value))
    return canonicalize(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJsonText(item ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJsonText(member)}`).join(',')}}`;
}
