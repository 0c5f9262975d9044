import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json';

/**
 * JSON text → value, as `JSON.parse` does it (the last of duplicate keys wins, `__proto__` is an own
 * key), except that an integer literal beyond ±(2^53 − 1) becomes a `bigint` holding every digit.
 * Avro `long` defaults such as 9223372036854775807 are valid (Avro spec, "Primitive Types": 64-bit
 * signed) and `JSON.parse` would round them to the nearest float64. Other numbers stay `number`s,
 * as float64 is what Avro `float`/`double` are anyway.
 *
 * @throws SyntaxError when `text` is not JSON.
 */
export function parseLosslessJson(text: string): unknown {
  return parse(text, null, {
    parseNumber: (digits) => (isInteger(digits) && !isSafeNumber(digits) ? BigInt(digits) : Number(digits)),
    onDuplicateKey: ({ newValue }) => newValue,
  });
}

/**
 * Value → JSON text, as `JSON.stringify` does it, with each `bigint` written as its exact digits
 * (`JSON.stringify` throws on a `bigint`). `undefined` members are left out, as there.
 */
export function stringifyLosslessJson(value: unknown): string {
  return stringify(value) ?? 'null';
}

/** Whether a parsed JSON value holds a `bigint` anywhere: only such values need the lossless path. */
export function containsBigInt(value: unknown): boolean {
  if (typeof value === 'bigint') return true;
  if (Array.isArray(value)) return value.some(containsBigInt);
  if (value !== null && typeof value === 'object') return Object.values(value).some(containsBigInt);
  return false;
}
