import { parquetReadObjects } from 'hyparquet';
import type { ObjectStore } from '../adapters/objectStore.ts';
import { logicalFileKey } from './deltaActions.ts';
import type { Row } from './deltaDataFiles.ts';
import { dataFileKey, logPath } from './deltaPaths.ts';

export interface DeltaSnapshot {
  version: number;
  protocol: Record<string, unknown> | null;
  metaData: { id: string; schemaString: string; partitionColumns: string[] } | null;
  /** Live logical files; `path` as logged (URI-encoded), `deletionVector` null when it has none. */
  files: Array<{
    path: string;
    partitionValues: Record<string, string | null>;
    size: number;
    deletionVector?: Record<string, unknown> | null;
  }>;
}

/**
 * Reconstructs a table's snapshot at `version` the way a Delta reader does: replay every log entry
 * 0..version (known keys, no listing); the latest protocol and metaData win; adds and removes apply to
 * the logical file keyed by (decoded path, deletion vector unique id), per the Delta protocol's action
 * reconciliation, so one commit can swap a file's deletion vector with a remove and an add of its path.
 */
export async function loadSnapshot(
  objects: ObjectStore,
  root: string,
  version: number,
): Promise<DeltaSnapshot> {
  const snapshot: DeltaSnapshot = { version, protocol: null, metaData: null, files: [] };
  const files = new Map<string, DeltaSnapshot['files'][number]>();
  for (let v = 0; v <= version; v += 1) {
    const entry = await objects.get(logPath(root, v));
    if (!entry) throw new Error(`log entry ${v} of ${root} is missing`);
    for (const line of entry.bytes.toString('utf8').split('\n').filter(Boolean)) {
      const action = JSON.parse(line) as Record<string, Record<string, unknown>>;
      if (action.protocol) snapshot.protocol = action.protocol;
      if (action.metaData) snapshot.metaData = action.metaData as unknown as DeltaSnapshot['metaData'];
      // Within a commit a key is added or removed at most once (validated), so the order is moot.
      if (action.remove)
        files.delete(logicalFileKey(String(action.remove.path), action.remove.deletionVector));
      if (action.add)
        files.set(
          logicalFileKey(String(action.add.path), action.add.deletionVector),
          action.add as unknown as DeltaSnapshot['files'][number],
        );
    }
  }
  snapshot.files = [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
  return snapshot;
}

/**
 * Reads every live row of a snapshot, partition values restored as columns. Each `add.path` is decoded
 * (RFC 2396, per segment) to the object it names. Files with a deletion vector are refused: this reader
 * does not apply them and would return deleted rows.
 */
export async function readRows(objects: ObjectStore, root: string, snapshot: DeltaSnapshot): Promise<Row[]> {
  const rows: Row[] = [];
  for (const file of snapshot.files) {
    if (file.deletionVector) throw new Error(`data file ${file.path} has a deletion vector; not supported`);
    const data = await objects.get(dataFileKey(root, file.path));
    if (!data) throw new Error(`data file ${file.path} is missing`);
    const bytes = data.bytes;
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    for (const record of await parquetReadObjects({ file: buffer })) {
      const row: Row = {};
      for (const [key, value] of Object.entries(record))
        row[key] = typeof value === 'bigint' ? Number(value) : (value as Row[string]);
      rows.push({ ...row, ...file.partitionValues });
    }
  }
  return rows;
}
