import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, compareUtf8 } from '../../shared/core/canonicalJson.ts';

describe('canonicalJson', () => {
  it('sorts keys, drops whitespace and undefined, and rejects non-integers', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, d: { z: -1, y: 'é' } })).toBe(
      '{"a":[true,null,"x"],"b":1,"d":{"y":"é","z":-1}}',
    );
    expect(() => canonicalJson({ a: 1.5 })).toThrow('integers only');
    expect(() => canonicalJson(Number.NaN)).toThrow();
  });

  it('is independent of key insertion order and round-trips through JSON.parse', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        const reversed = JSON.parse(text, (_k, v) =>
          v && typeof v === 'object' && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).reverse())
            : v,
        );
        expect(canonicalJson(reversed)).toBe(text);
      }),
    );
  });

  it('orders strings by their UTF-8 bytes, above the BMP and in U+E000–U+FFFF too', () => {
    const bytes = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(compareUtf8('\u{1F600}', '\uFFFD')).toBe(1);
    expect('\u{1F600}' < '\uFFFD').toBe(true);
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 6 }),
        fc.string({ unit: 'binary', maxLength: 6 }),
        (a, b) => compareUtf8(a, b) === bytes(a, b),
      ),
      { numRuns: 2000 },
    );
  });
});
