import type { Scope } from '../auth/principal.ts';
import { sha256Hex } from '../core/hashing.ts';

/** Scope-relative object keys of the coordinator (state-and-delta spec A3). */
export const stagingPrefix = (tableId: string) => `delta/staging/${tableId}/`;

export const logPath = (tableRoot: string, version: number) =>
  `${tableRoot}/_delta_log/${String(version).padStart(20, '0')}.json`;

export function markerPath(tableId: string, idempotencyKey: string) {
  const hash = sha256Hex(idempotencyKey);
  return `delta/idempotency/${tableId}/${hash.slice(0, 2).padStart(2, '0')}/${hash}.json`;
}

export class InvalidLocationError extends Error {}

/**
 * The table root from a catalog location (spec A3.5): absent → `tables/{id}`; `gs://bucket/rest` and
 * plain paths lose a leading `tenant=…/workspace=…/` of the caller's own scope. Spellings of one place
 * normalise to one root (surrounding and repeated `/`, `.` segments) because the root is also the key
 * that gives a location a single owning table: two spellings must never name two owners of one
 * `_delta_log`. A location naming another scope, or with `..` segments, backslashes, `%` or control
 * characters, is refused with InvalidLocationError.
 */
export function tableRoot(tableId: string, location: string | undefined, scope: Scope): string {
  if (location === undefined || location.trim() === '') return `tables/${tableId}`;
  let path = location.trim();
  if (/^gs:\/\//i.test(path)) path = path.replace(/^gs:\/\/[^/]*\/?/i, '');
  if (/[\\%\r\n\0]/.test(path)) throw new InvalidLocationError('location contains a forbidden character');
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (!segments.length) throw new InvalidLocationError('location is empty');
  if (segments.some((s) => s === '..'))
    throw new InvalidLocationError('location may not contain ".." segments');
  const ownPrefix = [`tenant=${scope.tenant}`, `workspace=${scope.workspace}`];
  if (segments[0]?.startsWith('tenant=') || segments[1]?.startsWith('workspace=')) {
    if (segments[0] !== ownPrefix[0] || segments[1] !== ownPrefix[1])
      throw new InvalidLocationError('location belongs to another tenant or workspace');
    segments.splice(0, 2);
  }
  if (!segments.length) throw new InvalidLocationError('location is the workspace root');
  if (segments[0] === 'delta' || segments[0] === 'ledger' || segments[0] === 'state')
    throw new InvalidLocationError(`location may not live under the reserved "${segments[0]}/" prefix`);
  return segments.join('/');
}

/** Every proper ancestor of a root, outermost first: `a/b/c` → [`a`, `a/b`]. */
export function rootAncestors(root: string): string[] {
  const segments = root.split('/');
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join('/'));
}

/** The directory name Spark and Hive give a null or empty partition value. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

// Spark's ExternalCatalogUtils.charToEscape (copied from Hive's FileUtils): ASCII controls and
// `"#%'*/:=?\{[]^` plus DEL. NUL is added so that every ASCII control is escaped. Everything
// else, including space and non-ASCII, stays literal in the object name, as Spark writes it.
const HIVE_ESCAPED = new Set('"#%\'*/:=?\\{[]^');
const needsEscape = (c: string) => c.charCodeAt(0) < 0x20 || c === '\u007F' || HIVE_ESCAPED.has(c);

/**
 * Escapes a partition column name or value for a directory name the way Spark and Hive do
 * (`escapePathName`): each escaped character becomes `%XX` (upper-case hex of its code). `:` → `%3A`,
 * `/` → `%2F`, `%` → `%25`, `=` → `%3D`; space and non-ASCII characters are kept.
 * Source: Spark `ExternalCatalogUtils.escapePathName` (Hive `FileUtils.escapePathName`).
 */
export function escapePartitionPathName(value: string): string {
  let out = '';
  for (const c of value)
    out += needsEscape(c) ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : c;
  return out;
}

/**
 * The Hive-style directory of one partition value, `column=value`; a null or empty value (both mean
 * null in Delta's partition value serialisation) is `column=__HIVE_DEFAULT_PARTITION__`.
 */
export function partitionDirectory(column: string, value: string | null): string {
  const escaped = value === null || value === '' ? HIVE_DEFAULT_PARTITION : escapePartitionPathName(value);
  return `${escapePartitionPathName(column)}=${escaped}`;
}

/**
 * The `add.path` / `remove.path` of a data file from its physical path relative to the table root.
 * Delta protocol (Add File and Remove File): the path is an RFC 2396 URI that readers decode, so every
 * segment is percent-encoded (a `%` in the object name becomes `%25`); `=` stays literal, as Spark
 * writes it, since it is legal in a URI path. `decodeAddPath(encodeAddPath(p)) === p` for every `p`.
 */
export function encodeAddPath(physicalRelativePath: string): string {
  return physicalRelativePath
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%3D/g, '='))
    .join('/');
}

export class InvalidAddPathError extends Error {}

/**
 * The physical path relative to the table root that an `add`/`remove`/`cdc` path names: each `/`
 * segment URI-decoded. Throws InvalidAddPathError for malformed percent escapes, for absolute URIs and
 * rooted paths (a managed table's files live under its root), and for empty, `.` or `..` segments.
 */
export function decodeAddPath(addPath: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(addPath) || addPath.startsWith('/'))
    throw new InvalidAddPathError('must be a path relative to the table root, not an absolute URI');
  const segments = addPath.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new InvalidAddPathError(`"${segment}" is not a valid URI-encoded path segment`);
    }
  });
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    throw new InvalidAddPathError('may not contain empty, "." or ".." segments');
  return segments.join('/');
}

/** The scope-relative object key of a logged data file path (see decodeAddPath for its errors). */
export const dataFileKey = (root: string, addPath: string) => `${root}/${decodeAddPath(addPath)}`;
