import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PartitionDimension } from '../../shared/orchestration/codeLocationManifest.ts';
import {
  canonicalPartitionKey,
  hivePartitionPath,
  InvalidPartitionKeyError,
  partitionKeyMatches,
  type PartitionValue,
  plainPartitionKey,
  renderPartitionKey,
  stringValue,
} from '../../shared/orchestration/partitionKeys.ts';

const daily: PartitionDimension[] = [{ name: 'date', kind: 'time', granularity: 'day' }];
const byRegion: PartitionDimension[] = [{ name: 'region', kind: 'static' }];
const dateAndRegion: PartitionDimension[] = [...daily, ...byRegion];

/** Texts rich in what the plain form has to escape or must not misread. */
const awkwardText = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
  fc
    .array(
      fc.constantFrom('|', '=', '%', ' ', ':', ',', 's:', 'd:', '%7C', '%3D', 'é', '東', '😀', 'a', '0', '-'),
      {
        minLength: 1,
        maxLength: 8,
      },
    )
    .map((parts) => parts.join('')),
);
const day = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2199-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const hour = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2199-12-31T23:00:00Z'), noInvalidDate: true })
  .map((d) => `${d.toISOString().slice(0, 13)}:00:00.000000Z`);

/** A dimension and a value it takes, as text and as the canonical value. */
const dimensionWithValue = (name: string) =>
  fc.oneof(
    day.map((text) => ({ dimension: { name, kind: 'time', granularity: 'day' } as const, text, tag: 'd' })),
    hour.map((text) => ({ dimension: { name, kind: 'time', granularity: 'hour' } as const, text, tag: 't' })),
    day.map((text) => ({ dimension: { name, kind: 'time' } as const, text, tag: 'd' })),
    awkwardText.map((text) => ({ dimension: { name, kind: 'static' } as const, text, tag: 's' })),
    awkwardText.map((text) => ({ dimension: { name, kind: 'tenant' } as const, text, tag: 's' })),
    fc
      .uniqueArray(awkwardText, { minLength: 1, maxLength: 3 })
      .chain((values) =>
        fc
          .constantFrom(...values)
          .map((text) => ({ dimension: { name, kind: 'static', values } as const, text, tag: 's' })),
      ),
  );

/** An asset's dimensions, a key of it as canonical, and its parts as text. */
const keyOfAsset = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/), { minLength: 1, maxLength: 3 })
  .chain((names) => fc.tuple(...names.map(dimensionWithValue)))
  .map((parts) => {
    const values = new Map<string, PartitionValue>(
      parts.map((p) => [
        p.dimension.name,
        p.tag === 's' ? stringValue(p.text) : ({ tag: p.tag, value: p.text } as PartitionValue),
      ]),
    );
    return {
      dimensions: parts.map((p) => p.dimension) as PartitionDimension[],
      parts,
      canonical: renderPartitionKey(values),
    };
  });

const refusal = (input: string, dimensions: PartitionDimension[]) => {
  try {
    canonicalPartitionKey(input, dimensions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidPartitionKeyError);
    return (error as Error).message;
  }
  throw new Error(`"${input}" was accepted`);
};

describe('partition keys in the form people write them', () => {
  it('reads the plain forms of the issue and shows them plainly', () => {
    const cases: Array<[string, PartitionDimension[], string, string]> = [
      ['2026-11-30', daily, 'date=d:2026-11-30', 'date=2026-11-30'],
      ['date=2026-11-30', daily, 'date=d:2026-11-30', 'date=2026-11-30'],
      ['date=d:2026-11-30', daily, 'date=d:2026-11-30', 'date=2026-11-30'],
      ['us east', byRegion, 'region=s:dXMgZWFzdA', 'region=us east'],
      ['region=us east', byRegion, 'region=s:dXMgZWFzdA', 'region=us east'],
      ['region=s:dXMgZWFzdA', byRegion, 'region=s:dXMgZWFzdA', 'region=us east'],
      [
        'date=2026-11-30|region=eu',
        dateAndRegion,
        'date=d:2026-11-30,region=s:ZXU',
        'date=2026-11-30|region=eu',
      ],
      [
        'region=eu|date=2026-11-30',
        dateAndRegion,
        'date=d:2026-11-30,region=s:ZXU',
        'date=2026-11-30|region=eu',
      ],
      ['region=a=b', byRegion, 'region=s:YT1i', 'region=a=b'],
      ['a%3Db', byRegion, 'region=s:YT1i', 'region=a=b'],
      [
        'region=50%25 %7C off',
        byRegion,
        renderPartitionKey(new Map([['region', stringValue('50% | off')]])),
        'region=50%25 %7C off',
      ],
      [
        'region=s%3Aabc',
        byRegion,
        renderPartitionKey(new Map([['region', stringValue('s:abc')]])),
        'region=s%3Aabc',
      ],
    ];
    for (const [input, dimensions, canonical, plain] of cases) {
      expect(canonicalPartitionKey(input, dimensions), input).toBe(canonical);
      expect(plainPartitionKey(canonical), input).toBe(plain);
    }
    // A daily asset's one dimension is whatever the manifest calls it.
    expect(
      canonicalPartitionKey('2026-11-30', [{ name: 'game_date', kind: 'time', granularity: 'day' }]),
    ).toBe('game_date=d:2026-11-30');
    // Delta's Hive style for deltaPartition.
    expect(hivePartitionPath('date=d:2026-11-30')).toBe('date=2026-11-30');
    expect(hivePartitionPath('date=d:2026-11-30,region=s:dXMgZWFzdA')).toBe('date=2026-11-30/region=us east');
    expect(hivePartitionPath(canonicalPartitionKey('region=a/b:c', byRegion))).toBe('region=a%2Fb%3Ac');
    expect(hivePartitionPath('date=2026-11-30')).toBe('date=2026-11-30');
    expect(plainPartitionKey('not a key')).toBe('not a key');
  });

  it('refuses what it cannot type, with a message that says what to write', () => {
    expect(refusal('2026-11-30', dateAndRegion)).toBe(
      'partition key "2026-11-30" names no dimension, and the asset has 2: write date=…|region=…',
    );
    expect(refusal('date=2026-11-30', dateAndRegion)).toMatch(/has no value for region/);
    expect(refusal('date=2026-11-30|date=2026-12-01', daily)).toMatch(/duplicate partition dimension "date"/);
    expect(refusal('day=2026-11-30', daily)).toMatch(
      /unknown partition dimension "day".*partitioned by date/,
    );
    expect(refusal('region=a|b', byRegion)).toMatch(/"b" .* names no dimension/);
    expect(refusal('region=50%', byRegion)).toMatch(/must start %25/);
    expect(refusal('2026-02-30', daily)).toMatch(/not a calendar date/);
    expect(refusal('yesterday', daily)).toMatch(/daily: write a date YYYY-MM-DD/);
    expect(refusal('', daily)).toBe('the partition key is empty');
    expect(refusal('date=', daily)).toMatch(/is empty/);
    expect(refusal('2026-11-30', [])).toBe('the asset is not partitioned');
    expect(refusal('date=s:MjAyNi0xMS0zMA', daily)).toMatch(
      /does not take s:MjAyNi0xMS0zMA \(write date=2026-11-30\)/,
    );
    expect(refusal('flag=b:true', [{ name: 'flag', kind: 'static' }])).toMatch(/write flag=b%3Atrue/);
    expect(refusal('apac', [{ name: 'region', kind: 'static', values: ['eu', 'us'] }])).toMatch(
      /one of eu, us/,
    );
    expect(
      refusal('2026-11-30T05:30:00.000000Z', [{ name: 'hour', kind: 'time', granularity: 'hour' }]),
    ).toMatch(/not on the hour/);
    expect(refusal(`region=${'x'.repeat(1100)}`, byRegion)).toMatch(/longer than 1024/);
  });

  it('round-trips: plain → canonical → plain is identity, and every accepted spelling reads the same', () => {
    fc.assert(
      fc.property(keyOfAsset, fc.boolean(), ({ dimensions, parts, canonical }, lowerHex) => {
        const plain = plainPartitionKey(canonical);
        expect(canonicalPartitionKey(plain, dimensions)).toBe(canonical);
        expect(plainPartitionKey(canonicalPartitionKey(plain, dimensions))).toBe(plain);
        // The tagged form (compatibility) and the plain parts in any order name the same key.
        expect(canonicalPartitionKey(canonical, dimensions)).toBe(canonical);
        const reversed = plain.split('|').reverse().join('|');
        expect(canonicalPartitionKey(reversed, dimensions)).toBe(canonical);
        const hex = lowerHex ? plain.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()) : plain;
        expect(canonicalPartitionKey(hex, dimensions)).toBe(canonical);
        // A bare value names the one dimension of a one-dimension asset (`=` escaped, or it reads as dim=).
        if (parts.length === 1) {
          const bare = plain.slice(parts[0]!.dimension.name.length + 1).replaceAll('=', '%3D');
          expect(canonicalPartitionKey(bare, dimensions)).toBe(canonical);
        }
        expect(partitionKeyMatches(plain, canonical)).toBe(true);
        expect(partitionKeyMatches(canonical, canonical)).toBe(true);
        // A single date dimension reads the same in Delta's Hive style.
        if (parts.length === 1 && parts[0]!.tag === 'd') expect(hivePartitionPath(canonical)).toBe(plain);
      }),
      { numRuns: 500 },
    );
  });

  it('matches a person’s key to stored keys without the asset’s partitioning', () => {
    const stored = canonicalPartitionKey('date=2026-11-30|region=eu', dateAndRegion);
    expect(partitionKeyMatches('region=eu|date=2026-11-30', stored)).toBe(true);
    expect(partitionKeyMatches('date=d:2026-11-30,region=s:ZXU', stored)).toBe(true);
    expect(partitionKeyMatches('date=2026-11-30', stored)).toBe(false);
    expect(partitionKeyMatches('2026-11-30', 'date=d:2026-11-30')).toBe(true);
    expect(partitionKeyMatches('2026-11-29', 'date=d:2026-11-30')).toBe(false);
    expect(() => partitionKeyMatches('date=2026|x', stored)).toThrow(InvalidPartitionKeyError);
  });
});
