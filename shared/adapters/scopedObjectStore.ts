import type { Scope } from '../auth/principal.ts';
import type { ObjectStore } from './objectStore.ts';

/** The physical key of a scope-relative path: every object lives under its tenant and workspace. */
export const scopePrefix = (scope: Scope) => `tenant=${scope.tenant}/workspace=${scope.workspace}/`;

/** An ObjectStore view that can only see one workspace's objects. */
export function scopedObjectStore(store: ObjectStore, scope: Scope): ObjectStore {
  const prefix = scopePrefix(scope);
  const strip = (key: string) => key.slice(prefix.length);
  return {
    get: (key) => store.get(prefix + key),
    head: (key) => store.head(prefix + key),
    put: (key, bytes, options) => store.put(prefix + key, bytes, options),
    delete: (key, options) => store.delete(prefix + key, options),
    list: async (relativePrefix, options) => {
      const page = await store.list(prefix + relativePrefix, options);
      return { ...page, keys: page.keys.map(strip), prefixes: page.prefixes.map(strip) };
    },
  };
}
