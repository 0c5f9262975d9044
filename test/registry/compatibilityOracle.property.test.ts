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
