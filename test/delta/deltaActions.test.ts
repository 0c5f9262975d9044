import { describe, expect, it } from 'vitest';
import {
  DeltaPayloadError,
  deletionVectorId,
  logicalFileKey,
  PartitionValuesError,
  partitionColumnsOf,
  partitionValueProblem,
  type TableMetaData,
  validateAgainstTable,
  validateDeltaPayload,
} from '../../shared/delta/deltaActions.ts';

const line = (action: object) => JSON.stringify(action);
const add = (path: string) =>
  line({ add: { path, partitionValues: {}, size: 10, modificationTime: 1, dataChange: true } });
const protocol = line({ protocol: { minReaderVersion: 1, minWriterVersion: 2 } });
const metaData = line({
  metaData: {
    id: 'x',
    format: { provider: 'parquet', options: {} },
    schemaString: '{"type":"struct","fields":[]}',
    partitionColumns: [],
    configuration: {},
  },
});

describe('Delta payload validation', () => {
  it('accepts a version 0 with protocol and metaData, and later versions with adds', () => {
    expect(() => validateDeltaPayload([protocol, metaData].join('\n'), 0)).not.toThrow();
    expect(() =>
      validateDeltaPayload(`${add('a.parquet')}\n${line({ commitInfo: { operation: 'WRITE' } })}\n`, 3),
    ).not.toThrow();
  });

  it.each([
    ['{"add":', 1, 'line 1: not valid JSON'],
    [`${add('a')}\n[]`, 2, 'line 2: each line must be a JSON object'],
    [`${add('a')}\n{"add":{},"remove":{}}`, 2, 'exactly one action'],
    [`{"bogus":{}}`, 1, 'unknown action "bogus"'],
    [`${add('a')}\n${add('a')}`, 2, 'added twice'],
    [`${metaData}\n${metaData}`, 2, 'at most one metaData'],
    [
      line({ add: { path: 'a', partitionValues: {}, size: -1, modificationTime: 1, dataChange: true } }),
      1,
      'add.size',
    ],
  ])('rejects %j naming line %i', (payload, lineNumber, message) => {
    expect(() => validateDeltaPayload(payload, 2)).toThrow(message);
    try {
      validateDeltaPayload(payload, 2);
    } catch (error) {
      expect((error as { line: number }).line).toBe(lineNumber);
    }
  });

  it('requires protocol and metaData in version 0', () => {
    expect(() => validateDeltaPayload(metaData, 0)).toThrow('version 0 must contain a protocol');
    expect(() => validateDeltaPayload(protocol, 0)).toThrow('version 0 must contain a metaData');
  });
});

const dv = (pathOrInlineDv: string, offset?: number) => ({
  storageType: 'u',
  pathOrInlineDv,
  ...(offset !== undefined ? { offset } : {}),
  sizeInBytes: 40,
  cardinality: 3,
});
const file = (kind: 'add' | 'remove', path: string, extra: Record<string, unknown> = {}) =>
  line({
    [kind]:
      kind === 'add'
        ? { path, partitionValues: {}, size: 10, modificationTime: 1, dataChange: true, ...extra }
        : { path, dataChange: true, deletionTimestamp: 1, ...extra },
  });

describe('logical files: (path, deletion vector) within one commit', () => {
  it('accepts a remove and an add of one path with different deletion vectors (DELETE/UPDATE with DVs)', () => {
    const swap = [
      file('remove', 'p.parquet'),
      file('add', 'p.parquet', { deletionVector: dv('ab^-aqEH.-t@S}K{vb[*k^') }),
    ];
    expect(() => validateDeltaPayload(swap.join('\n'), 3)).not.toThrow();
    const again = [
      file('remove', 'p.parquet', { deletionVector: dv('ab^-aqEH.-t@S}K{vb[*k^') }),
      file('add', 'p.parquet', { deletionVector: dv('ab^-aqEH.-t@S}K{vb[*k^', 4) }),
    ];
    expect(() => validateDeltaPayload(again.join('\n'), 4)).not.toThrow();
    expect(() =>
      validateDeltaPayload(
        [
          file('add', 'p.parquet'),
          line({ cdc: { path: 'p.parquet', partitionValues: {}, size: 1, dataChange: false } }),
        ].join('\n'),
        3,
      ),
    ).not.toThrow();
  });

  it.each([
    [
      'the same path and vector added and removed',
      [file('remove', 'p'), file('add', 'p')],
      2,
      'same deletion vector',
    ],
    [
      'the same vector under two spellings of the path',
      [file('remove', 'a b', { deletionVector: dv('x') }), file('add', 'a%20b', { deletionVector: dv('x') })],
      2,
      'same deletion vector',
    ],
    [
      'one path added twice with different vectors',
      [file('add', 'p'), file('add', 'p', { deletionVector: dv('x') })],
      2,
      'added twice',
    ],
    [
      'one path removed twice',
      [file('remove', 'p', { deletionVector: dv('x') }), file('remove', 'p')],
      2,
      'removed twice',
    ],
    [
      'a vector with a bad storage type',
      [file('add', 'p', { deletionVector: { ...dv('x'), storageType: 'z' } })],
      1,
      'storageType',
    ],
    [
      'an inline vector with an offset',
      [file('add', 'p', { deletionVector: { ...dv('x', 1), storageType: 'i' } })],
      1,
      'offset',
    ],
  ])('refuses %s', (_, lines, lineNumber, message) => {
    expect(() => validateDeltaPayload(lines.join('\n'), 3)).toThrow(message);
    try {
      validateDeltaPayload(lines.join('\n'), 3);
    } catch (error) {
      expect((error as DeltaPayloadError).details).toMatchObject({
        line: lineNumber,
        action_index: lineNumber - 1,
      });
    }
  });

  it('keys a logical file by its decoded path and the protocol unique id of its vector', () => {
    expect(deletionVectorId(undefined)).toBeNull();
    expect(deletionVectorId(null)).toBeNull();
    expect(deletionVectorId(dv('abc'))).toBe('uabc');
    expect(deletionVectorId(dv('abc', 7))).toBe('uabc@7');
    expect(logicalFileKey('a%20b', null)).toBe(logicalFileKey('a b', undefined));
    expect(logicalFileKey('p', dv('abc'))).not.toBe(logicalFileKey('p', null));
  });

  it('refuses file paths that do not decode to a file under the table root', () => {
    for (const path of ['gs://elsewhere/p.parquet', '/p.parquet', 'a/%zz.parquet', 'a/../b.parquet'])
      expect(() => validateDeltaPayload(file('add', path), 3), path).toThrow(/add\.path/);
  });
});

const schema = (fields: Array<[string, string, Record<string, unknown>?]>) =>
  JSON.stringify({
    type: 'struct',
    fields: fields.map(([name, type, metadata]) => ({
      name,
      type,
      nullable: true,
      metadata: metadata ?? {},
    })),
  });

describe('partition values checked against the table', () => {
  const table: TableMetaData = {
    schemaString: schema([
      ['id', 'long'],
      ['day', 'date'],
      ['hour', 'timestamp'],
      ['region', 'string'],
    ]),
    partitionColumns: ['day', 'hour', 'region'],
  };
  const addWith = (partitionValues: Record<string, unknown>, path = 'x.parquet') =>
    line({ add: { path, partitionValues, size: 1, modificationTime: 1, dataChange: true } });
  const good = { day: '2025-01-15', hour: '2025-01-15T10:00:00.000000Z', region: 'eu west/1' };

  it('accepts values that parse as their column types, null and "" (null)', () => {
    expect(() => validateAgainstTable(addWith(good), table)).not.toThrow();
    expect(() => validateAgainstTable(addWith({ day: null, hour: '', region: null }), table)).not.toThrow();
    expect(() =>
      validateAgainstTable(addWith({ ...good, hour: '2025-01-15 10:00:00.5' }), table),
    ).not.toThrow();
    expect(() =>
      validateAgainstTable(line({ remove: { path: 'x', dataChange: true } }), table),
    ).not.toThrow();
  });

  it.each([
    ['a missing column', { day: '2025-01-15', hour: null }, 'missing [region]'],
    ['an extra column', { ...good, id: '1' }, 'not partition columns [id]'],
    ['a bad date', { ...good, day: '2025-02-30' }, 'is not a date'],
    ['a bad timestamp', { ...good, hour: '2025-01-15T25:00:00Z' }, 'is not a timestamp'],
    ['a number where a string is due', { ...good, region: 5 }, 'must be a string or null'],
  ])('refuses %s naming the line, the action and its path', (_, values, message) => {
    const payload = [line({ commitInfo: {} }), addWith(values, 'day=x/part-1.parquet')].join('\n');
    expect(() => validateAgainstTable(payload, table)).toThrow(message);
    try {
      validateAgainstTable(payload, table);
    } catch (error) {
      expect(error).toBeInstanceOf(PartitionValuesError);
      expect((error as DeltaPayloadError).details).toEqual({
        line: 2,
        action_index: 1,
        action: 'add',
        path: 'day=x/part-1.parquet',
      });
    }
  });

  it('checks removes that carry partition values, and cdc files', () => {
    expect(() =>
      validateAgainstTable(
        line({ remove: { path: 'x', dataChange: true, partitionValues: { day: '1' } } }),
        table,
      ),
    ).toThrow(/line 1 \(remove "x"\).*missing/);
    expect(() =>
      validateAgainstTable(
        line({ cdc: { path: 'c', partitionValues: {}, size: 1, dataChange: false } }),
        table,
      ),
    ).toThrow(/cdc/);
  });

  it('checks against the metaData the commit itself carries, which replaces the table one', () => {
    const newMeta = line({
      metaData: {
        id: 'x',
        format: { provider: 'parquet', options: {} },
        schemaString: schema([['n', 'integer']]),
        partitionColumns: ['n'],
        configuration: {},
      },
    });
    expect(() => validateAgainstTable([newMeta, addWith({ n: '-12' })].join('\n'), table)).not.toThrow();
    expect(() => validateAgainstTable([newMeta, addWith(good)].join('\n'), table)).toThrow('missing [n]');
  });

  it('keys partition values by physical names under column mapping', () => {
    const mapped: TableMetaData = {
      schemaString: schema([['day', 'date', { 'delta.columnMapping.physicalName': 'col-5f1a' }]]),
      partitionColumns: ['day'],
      configuration: { 'delta.columnMapping.mode': 'name' },
    };
    expect(partitionColumnsOf(mapped)).toEqual([{ name: 'day', key: 'col-5f1a', type: 'date' }]);
    expect(() => validateAgainstTable(addWith({ 'col-5f1a': '2025-01-01' }), mapped)).not.toThrow();
    expect(() => validateAgainstTable(addWith({ day: '2025-01-01' }), mapped)).toThrow('missing [col-5f1a]');
  });

  it('refuses a partition column the schema does not have, unless the schema is empty', () => {
    expect(() =>
      partitionColumnsOf({ schemaString: schema([['a', 'long']]), partitionColumns: ['b'] }),
    ).toThrow('not a column');
    expect(partitionColumnsOf({ schemaString: schema([]), partitionColumns: ['b'] })).toEqual([
      { name: 'b', key: 'b', type: null },
    ]);
  });

  it.each([
    ['date', ['2024-02-29', '1970-01-01'], ['2023-02-29', '2024-13-01', '2024-1-1', '20240101', 'x']],
    [
      'timestamp',
      [
        '1970-01-01 00:00:00',
        '1970-01-01 00:00:00.123456',
        '1970-01-01T00:00:00.123456Z',
        '2025-01-15T10:00:00Z',
      ],
      [
        '1970-01-01T00:00:00',
        '1970-01-01 24:00:00',
        '1970-01-01 00:00:00.1234567',
        '1970-01-01T00:00:00+01:00',
      ],
    ],
    ['timestamp_ntz', ['1970-01-01 00:00:00.5'], ['1970-01-01T00:00:00Z']],
    ['byte', ['-128', '127', '+5'], ['128', '1.0', '1e2', '']],
    ['short', ['-32768', '32767'], ['32768']],
    ['integer', ['-2147483648', '2147483647'], ['2147483648', 'abc']],
    ['long', ['-9223372036854775808', '9223372036854775807'], ['9223372036854775808']],
    ['boolean', ['true', 'false'], ['TRUE', '1', 'yes']],
    ['double', ['1.5', '-2', '1e10', '.5', 'NaN', '-Infinity'], ['1,5', 'abc', '0x10']],
    ['float', ['3.25'], ['three']],
    ['decimal(5,2)', ['123.45', '-0.5', '123.450', '1.2E2', '007'], ['1234.5', '1.234', '1.2.3', '']],
    ['decimal', ['1234567890'], ['12345678901', '0.5']],
    ['string', ['anything: / % = é # ?'], []],
    ['binary', ['\u0001\u0002'], []],
  ])('parses %s partition values', (type, valid, invalid) => {
    for (const value of valid) expect(partitionValueProblem(type, value), `${type} ${value}`).toBeNull();
    for (const value of invalid)
      expect(partitionValueProblem(type, value), `${type} ${value}`).not.toBeNull();
  });
});
