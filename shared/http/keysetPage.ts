import { badRequest } from '../core/arcoError.ts';

/** Keyset pagination (orchestration spec §20.3): opaque base64url cursors of the last item's sort key. */
export function pageLimit(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200)
    throw badRequest('limit must be between 1 and 200');
  return limit;
}

export function decodeCursor(raw: string | undefined): string[] | null {
  if (!raw) return null;
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { keys?: unknown };
    if (Array.isArray(parsed.keys) && parsed.keys.every((k) => typeof k === 'string'))
      return parsed.keys as string[];
  } catch {
    // fall through
  }
  throw badRequest('invalid cursor');
}

export const encodeCursor = (keys: string[]) => Buffer.from(JSON.stringify({ keys })).toString('base64url');

/** Items after the cursor, in the given order; `nextCursor` only when more remain. */
export function keysetPage<T>(
  sorted: T[],
  sortKey: (item: T) => string[],
  compare: (a: string[], b: string[]) => number,
  limit: number,
  cursor: string | undefined,
) {
  const after = decodeCursor(cursor);
  const remaining = after ? sorted.filter((item) => compare(sortKey(item), after) > 0) : sorted;
  const page = remaining.slice(0, limit);
  const last = page.at(-1);
  return { page, ...(remaining.length > limit && last ? { nextCursor: encodeCursor(sortKey(last)) } : {}) };
}

/** Sort keys compared field by field, ascending. */
export const compareAsc = (a: string[], b: string[]) => {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
};

/** The first field descending (newest first), the rest ascending (a stable tie-break). */
export const compareDescThenAsc = (a: string[], b: string[]) =>
  a[0] !== b[0] ? (a[0]! > b[0]! ? -1 : 1) : compareAsc(a.slice(1), b.slice(1));
