import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareSchemas } from '../../shared/registry/compatibility.ts';
import { diffSchemas } from '../../shared/registry/schemaDiff.ts';
import { validateSchema } from '../../shared/registry/schemaValidation.ts';
import { oracleCompatibility } from './avroOracle.ts';
import { avroSchema, schemaPair } from './schemaArbitrary.ts';

const RUNS = 1500;

describe('compatibility engine against the avsc oracle (spec §6.6)', () => {
  it(`agrees with avsc's resolution on ${RUNS} generated schema pairs`, () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(fc.oneof(schemaPair, fc.tuple(avroSchema, avroSchema)), ([oldSchema, newSchema]) => {
        const verdict = compareSchemas(validateSchema(oldSchema).root, validateSchema(newSchema).root);
        seen.set(verdict.compatibility, (seen.get(verdict.compatibility) ?? 0) + 1);
        expect(verdict.compatibility).toBe(oracleCompatibility(oldSchema, newSchema));
        // An incompatible direction always comes with at least one explained issue.
        expect(verdict.backward_issues.length === 0).toBe(
          ['both', 'backward'].includes(verdict.compatibility),
        );
        expect(verdict.forward_issues.length === 0).toBe(['both', 'forward'].includes(verdict.compatibility));
      }),
      { numRuns: RUNS },
    );
    // The generator must exercise every outcome, or agreement would prove little.
    for (const outcome of ['both', 'backward', 'forward', 'none'])
      expect(seen.get(outcome) ?? 0).toBeGreaterThan(50);
  });

  it('agrees with avsc given the Avro decimal rule on changes of precision, scale and size', () => {
    // Few values, so that equal parameters are common; scale 12 > precision and precision 10 or 19 in a
    // 4- or 8-byte fixed are invalid decimals, which both sides must read as the underlying type.
    const parameters = fc.record({
      base: fc.constantFrom<'bytes' | 4 | 8>('bytes', 'bytes', 4, 8),
      precision: fc.constantFrom(4, 9, 10, 19),
      scale: fc.constantFrom(undefined, 0, 2, 12),
    });
    type Parameters = { base: 'bytes' | 4 | 8; precision: number; scale: number | undefined };
    const decimal = ({ base, precision, scale }: Parameters) => ({
      ...(base === 'bytes' ? { type: 'bytes' } : { type: 'fixed', name: 'Amount', size: base }),
      logicalType: 'decimal',
      precision,
      ...(scale !== undefined ? { scale } : {}),
    });
    // The new side keeps each of the old parameters or draws it again.
    const change = parameters.chain((old) =>
      fc
        .tuple(parameters, fc.boolean(), fc.boolean(), fc.boolean())
        .map(([drawn, base, precision, scale]): [Parameters, Parameters] => [
          old,
          {
            base: base ? drawn.base : old.base,
            precision: precision ? drawn.precision : old.precision,
            scale: scale ? drawn.scale : old.scale,
          },
        ]),
    );
    const placements = fc.constantFrom(
      [(t: object): unknown => t, (t: object): unknown => t],
      [(t: object): unknown => t, (t: object): unknown => ['null', t]],
      [(t: object): unknown => ['null', t], (t: object): unknown => t],
      [
        (t: object): unknown => ({ type: 'array', items: t }),
        (t: object): unknown => ({ type: 'array', items: t }),
      ],
    );
    const record = (type: unknown) => ({ type: 'record', name: 'root', fields: [{ name: 'amount', type }] });
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(change, placements, ([a, b], [placeOld, placeNew]) => {
        const [oldSchema, newSchema] = [record(placeOld(decimal(a))), record(placeNew(decimal(b)))];
        const verdict = compareSchemas(validateSchema(oldSchema).root, validateSchema(newSchema).root);
        seen.set(verdict.compatibility, (seen.get(verdict.compatibility) ?? 0) + 1);
        expect(verdict.compatibility).toBe(oracleCompatibility(oldSchema, newSchema));
      }),
      { numRuns: 500 },
    );
    for (const outcome of ['both', 'backward', 'forward', 'none'])
      expect(seen.get(outcome) ?? 0).toBeGreaterThan(20);
  });

  it('diffs are empty for identical schemas and deterministic otherwise', () => {
    fc.assert(
      fc.property(avroSchema, avroSchema, (a, b) => {
        const left = validateSchema(a).root;
        const right = validateSchema(b).root;
        expect(diffSchemas(left, validateSchema(structuredClone(a)).root)).toEqual([]);
        expect(diffSchemas(left, right)).toEqual(diffSchemas(validateSchema(a).root, validateSchema(b).root));
      }),
      { numRuns: 300 },
    );
  });
});
