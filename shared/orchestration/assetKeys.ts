/** Asset keys in their canonical dot form (orchestration spec §2.1). */
const SEGMENT = /^[a-z][a-z0-9_]*$/;

export class InvalidAssetKeyError extends Error {}

/** `namespace.name` or `namespace/name` → `namespace.name`; names may have more dot segments. */
export function canonicalAssetKey(input: string): string {
  if (!input || /\s/.test(input)) throw new InvalidAssetKeyError(`invalid asset key "${input}"`);
  const cut = input.includes('/') ? input.indexOf('/') : input.indexOf('.');
  if (cut <= 0) throw new InvalidAssetKeyError(`asset key "${input}" needs a namespace and a name`);
  const namespace = input.slice(0, cut);
  const name = input.slice(cut + 1);
  const segments = [namespace, ...name.split('.')];
  if (!name || !segments.every((s) => SEGMENT.test(s)))
    throw new InvalidAssetKeyError(`invalid asset key "${input}": segments must match [a-z][a-z0-9_]*`);
  return `${namespace}.${name}`;
}
