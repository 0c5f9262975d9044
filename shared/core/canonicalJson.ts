/**
 * Canonical JSON (spec ADR-010): keys sorted by UTF-8 byte order, no whitespace, integers only.
 * For strings and integers this is also RFC 8785 (JCS), which the Delta request hash is defined on.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value))
        throw new TypeError(`canonical JSON allows integers only, got ${value}`);
      return String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => compareUtf8(a, b));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  }
}

/**
 * UTF-8 byte order, which is code point order. JavaScript's `<` compares UTF-16 code units, which
 * agrees with it unless a surrogate (half of a character above the BMP) meets a code unit in
 * U+E000–U+FFFF; strings without code units from U+D800 up are compared with `<`, without the two
 * buffers per comparison that made key sorting a tenth of the compactor's own CPU.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  if (!FROM_D800.test(a) && !FROM_D800.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const FROM_D800 = /[\uD800-\uFFFF]/;

/** Sorted-key JSON that, unlike canonicalJson, accepts any JSON number: for fingerprints of free-form bodies. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => compareUtf8(a, b));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}
