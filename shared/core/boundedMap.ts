/**
 * Sets `key` in `map`, first evicting the oldest entry (insertion order) when the map holds `max`
 * entries: a process-wide cache of immutable objects (shards, archives, manifests) that cannot grow
 * without bound.
 */
export function rememberBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
