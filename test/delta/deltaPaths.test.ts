import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dataFileKey,
  decodeAddPath,
  encodeAddPath,
  escapePartitionPathName,
  logPath,
  markerPath,
  partitionDirectory,
  rootAncestors,
  tableRoot,
} from '../../shared/delta/deltaPaths.ts';

const scope = { tenant: 'acme', workspace: 'sales' };

describe('Delta paths', () => {
  it('zero-pads log versions to 20 digits and shards markers by hash', () => {
    expect(logPath('warehouse/orders', 7)).toBe('warehouse/orders/_delta_log/00000000000000000007.json');
    // printf '%s' key | sha256sum
    expect(markerPath('t1', 'abc')).toBe(
      'delta/idempotency/t1/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.json',
    );
  });

  it('resolves locations under the caller scope and rejects escapes', () => {
    expect(tableRoot('id', undefined, scope)).toBe('tables/id');
    expect(tableRoot('id', 'warehouse/sales/orders_delta', scope)).toBe('warehouse/sales/orders_delta');
    expect(tableRoot('id', 'gs://bucket/tenant=acme/workspace=sales/w/o/', scope)).toBe('w/o');
    for (const bad of [
      '../x',
      'a/../b',
      'a\\b',
      'a%2F',
      'tenant=other/workspace=sales/x',
      'delta/x',
      'tenant=acme/workspace=sales',
    ])
      expect(() => tableRoot('id', bad, scope), bad).toThrow();
  });

  it('normalises spellings of one location to one root, so they cannot alias', () => {
    for (const spelling of [
      'warehouse/shared/orders',
      'warehouse/shared/orders/',
      '/warehouse/shared/orders',
      './warehouse/shared/orders',
      'warehouse//shared///orders',
      'warehouse/./shared/orders/.',
      ' warehouse/shared/orders ',
      'gs://bucket/warehouse/shared/orders/',
      'gs://bucket/tenant=acme/workspace=sales//warehouse/shared/orders',
      'tenant=acme/workspace=sales/warehouse/shared/orders',
    ])
      expect(tableRoot('id', spelling, scope), spelling).toBe('warehouse/shared/orders');
    expect(rootAncestors('warehouse/shared/orders')).toEqual(['warehouse', 'warehouse/shared']);
    expect(rootAncestors('orders')).toEqual([]);
  });
});

describe('Delta data file names and add.path', () => {
  it('escapes partition directory names the way Spark does (Hive escapePathName)', () => {
    expect(partitionDirectory('hour', '2025-01-15T10:00:00.000000Z')).toBe(
      'hour=2025-01-15T10%3A00%3A00.000000Z',
    );
    const cases: Array<[string, string]> = [
      [':', '%3A'],
      [' ', ' '],
      ['/', '%2F'],
      ['%', '%25'],
      ['=', '%3D'],
      ['é', 'é'],
      ['日本', '日本'],
      ['#', '%23'],
      ['?', '%3F'],
      ['\\', '%5C'],
      ['\n', '%0A'],
      ['"\'*{[]^', '%22%27%2A%7B%5B%5D%5E'],
      ['a-b_c.d~!', 'a-b_c.d~!'],
    ];
    for (const [value, escaped] of cases) expect(escapePartitionPathName(value), value).toBe(escaped);
    expect(partitionDirectory('day', null)).toBe('day=__HIVE_DEFAULT_PARTITION__');
    expect(partitionDirectory('day', '')).toBe('day=__HIVE_DEFAULT_PARTITION__');
    expect(partitionDirectory('a=b', 'x')).toBe('a%3Db=x');
  });

  it('URI-encodes the physical path into add.path, so decoding gives the object name back', () => {
    const physical = 'hour=2025-01-15T10%3A00%3A00.000000Z/part-1.parquet';
    expect(encodeAddPath(physical)).toBe('hour=2025-01-15T10%253A00%253A00.000000Z/part-1.parquet');
    expect(decodeAddPath(encodeAddPath(physical))).toBe(physical);
    expect(encodeAddPath('c=a b/é#?/x.parquet')).toBe('c=a%20b/%C3%A9%23%3F/x.parquet');
    expect(dataFileKey('w/t', 'day=a%20b/part-1.parquet')).toBe('w/t/day=a b/part-1.parquet');
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ unit: 'grapheme' }), { nil: null }), { minLength: 1, maxLength: 3 }),
        (values) => {
          const physicalPath = [
            ...values.map((v, i) => partitionDirectory(`c${i}`, v)),
            'part-x.parquet',
          ].join('/');
          const addPath = encodeAddPath(physicalPath);
          expect(decodeAddPath(addPath)).toBe(physicalPath);
          expect(addPath.split('/').map(decodeURIComponent).join('/')).toBe(physicalPath);
          // One directory per partition column whatever the value holds.
          expect(physicalPath.split('/')).toHaveLength(values.length + 1);
        },
      ),
    );
  });

  it('refuses add paths that do not name an object under the table root', () => {
    for (const bad of [
      'gs://other/x.parquet',
      's3a://b/x',
      '/abs/x',
      'a//b',
      '../x',
      'a/./b',
      'a/%ZZ',
      'a/%',
    ])
      expect(() => decodeAddPath(bad), bad).toThrow();
  });
});
