import canonicalize from 'canonicalize';

/** RFC 8785 (JCS) text of any JSON value: schema hashes and request fingerprints are defined on it. */
export function canonicalJsonText(value: unknown): string {
  return canonicalize(value) ?? 'null';
}
