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
 * plain paths lose a leading `tenant=…/workspace=…/` of the caller's own scope. A location naming
 * another scope, or with `.`/`..` segments, backslashes, `%` or control characters, is refused.
 */
export function tableRoot(tableId: string, location: string | undefined, scope: Scope): string {
  if (location === undefined || location.trim() === '') return `tables/${tableId}`;
  let path = location.trim();
  if (/^gs:\/\//i.test(path)) path = path.replace(/^gs:\/\/[^/]*\/?/i, '');
  path = path.replace(/^\/+|\/+$/g, '');
  if (!path) throw new InvalidLocationError('location is empty');
  if (/[\\%\r\n\0]/.test(path)) throw new InvalidLocationError('location contains a forbidden character');
  const segments = path.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    throw new InvalidLocationError('location may not contain empty, "." or ".." segments');
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
