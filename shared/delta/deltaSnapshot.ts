import { parquetReadObjects } from 'hyparquet';
import type { ObjectStore } from '../adapters/objectStore.ts';
import type { Row } from './deltaDataFiles.ts';
import { logPath } from './deltaPaths.ts';

export interface DeltaSnapshot {
  version: number;
  protocol: Record<string, unknown> | null;
  metaData: { id: string; schemaString: string; partitionColumns: string[] } | null;
  files: Array<{ path: string; partitionValues: Record<string, string>; size: number }>;
}

/**
 * Reconstructs a table's snapshot at `version` the way a Delta reader does: replay every log entry
 * 0..version (known keys, no listing); the latest protocol and metaData win, adds and removes by path.
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
      if (action.add)
        files.set(String(action.add.path), action.add as unknown as DeltaSnapshot['files'][number]);
      if (action.remove) files.delete(String(action.remove.path));
    }
  }
  snapshot.files = [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
  return snapshot;
}

/** Reads every live row of a snapshot, partition values restored as columns. */
export async function readRows(objects: ObjectStore, root: string, snapshot: DeltaSnapshot): Promise<Row[]> {
  const rows: Row[] = [];
  for (const file of snapshot.files) {
    const data = await objects.get(`${root}/${decodeURIComponent(file.path)}`);
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
