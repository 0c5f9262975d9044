import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/** Mints ULIDs that strictly increase within a process, even within one millisecond (spec §1). */
export interface IdGenerator {
  next(atMs?: number): string;
}

export function monotonicUlids(): IdGenerator {
  const factory = monotonicFactory(pooledCryptoRandom());
  return { next: (atMs) => factory(atMs ?? Date.now()) };
}

const POOL_BYTES = 4096;

/**
 * The PRNG ulid takes (a fraction in [0, 1), 256 steps, as its own default gives), drawn from a pool
 * of cryptographically secure bytes. ulid 3's default asks `crypto.getRandomValues` for one byte per
 * character, sixteen calls into the runtime per id, which was a second of CPU per thousand tasks in
 * `npm run bench dag`.
 */
function pooledCryptoRandom(): () => number {
  let pool = randomBytes(POOL_BYTES);
  let at = 0;
  return () => {
    if (at === pool.length) {
      pool = randomBytes(POOL_BYTES);
      at = 0;
    }
    return pool[at++]! / 256;
  };
}
