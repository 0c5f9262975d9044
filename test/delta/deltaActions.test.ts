import { describe, expect, it } from 'vitest';
import { validateDeltaPayload } from '../../shared/delta/deltaActions.ts';

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
    [`${add('a')}\n${add('a')}`, 2, 'added or removed twice'],
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
