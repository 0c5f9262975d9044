import { parquetWriteBuffer } from 'hyparquet-writer';
import type { ObjectStore } from '../adapters/objectStore.ts';
import { encodeAddPath, escapePartitionPathName, partitionDirectory } from './deltaPaths.ts';

/** The column types a worker writes; Delta type names (schemaString) mapped to Parquet types. */
export type DeltaColumnType = 'string' | 'long' | 'integer' | 'double' | 'boolean';

export interface DeltaColumn {
  name: string;
  type: DeltaColumnType;
}

const PARQUET_TYPE = {
  string: 'STRING',
  long: 'INT64',
  integer: 'INT32',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
} as const;

export type Row = Record<string, string | number | boolean | null>;

export interface AddAction {
  /** The URI-encoded path relative to the table root (Delta protocol); decodes to the object name. */
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  stats: string;
}

/** The Delta schemaString of a flat table. */
export function deltaSchemaString(columns: DeltaColumn[]): string {
  return JSON.stringify({
    type: 'struct',
    fields: columns.map((c) => ({ name: c.name, type: c.type, nullable: true, metadata: {} })),
  });
}

/**
 * Writes one immutable Parquet data file under the table root (partition columns live in the path and
 * in `partitionValues`, not in the file, as Delta does) and returns the `add` action that commits it.
 * The object is named as Spark names it: `col=value/…/part-{fileId}.parquet` with Hive-escaped column
 * names and values (null or "" → `__HIVE_DEFAULT_PARTITION__`); `add.path` is that name URI-encoded,
 * so a Delta reader decoding it finds this object. Writing the same file id again keeps the first file
 * and still returns its `add`.
 */
export async function writeDataFile(
  objects: ObjectStore,
  tableRoot: string,
  columns: DeltaColumn[],
  rows: Row[],
  partitionValues: Record<string, string | null>,
  fileId: string,
  nowMs: number,
): Promise<AddAction> {
  const dataColumns = columns.filter((c) => !(c.name in partitionValues));
  const buffer = parquetWriteBuffer({
    columnData: dataColumns.map((c) => ({
      name: c.name,
      type: PARQUET_TYPE[c.type],
      data: rows.map((r) => {
        const value = r[c.name] ?? null;
        return c.type === 'long' && value !== null ? BigInt(value as number) : value;
      }),
    })),
  });
  const physical = [
    ...Object.entries(partitionValues).map(([column, value]) => partitionDirectory(column, value)),
    `part-${escapePartitionPathName(fileId)}.parquet`,
  ].join('/');
  const key = `${tableRoot}/${physical}`;
  const bytes = Buffer.from(buffer);
  const put = await objects.put(key, bytes, {
    ifGenerationMatch: 0,
    contentType: 'application/vnd.apache.parquet',
  });
  // File ids are per attempt, so an existing file is this attempt's own from an earlier delivery.
  const size = put.status === 'written' ? bytes.length : (await objects.head(key))!.size;
  const stats = {
    numRecords: rows.length,
    minValues: {} as Row,
    maxValues: {} as Row,
    nullCount: {} as Record<string, number>,
  };
  for (const c of dataColumns) {
    const values = rows
      .map((r) => r[c.name])
      .filter((v): v is string | number => v !== null && v !== undefined && typeof v !== 'boolean');
    stats.nullCount[c.name] =
      rows.length - rows.filter((r) => r[c.name] !== null && r[c.name] !== undefined).length;
    if (values.length) {
      stats.minValues[c.name] = values.reduce((a, b) => (b < a ? b : a));
      stats.maxValues[c.name] = values.reduce((a, b) => (b > a ? b : a));
    }
  }
  return {
    path: encodeAddPath(physical),
    partitionValues,
    size,
    modificationTime: nowMs,
    dataChange: true,
    stats: JSON.stringify(stats),
  };
}
