/**
 * Tokens already verified, by their exact text, until they expire: a caller that presents the same
 * token again (a worker's `started` then `completed` with one task token; Cloud Tasks' OIDC token on
 * every delivery of a queue) is not verified again. A token that fails verification is never kept.
 * Bounded: the oldest entry goes first once `max` are held.
 */
export class VerifiedTokens<T> {
  private readonly entries = new Map<string, { value: T; expiresAtMs: number }>();

  constructor(private readonly max = 10_000) {}

  /** The verified value of `token`; `verify` runs on a miss and gives the value and its expiry (epoch ms). */
  async get(token: string, verify: () => Promise<{ value: T; expiresAtMs: number }>): Promise<T> {
    const hit = this.entries.get(token);
    if (hit && hit.expiresAtMs > Date.now()) return hit.value;
    const verified = await verify();
    this.entries.delete(token);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, verified);
    return verified.value;
  }
}

/** A JWT's `exp` (seconds) as epoch ms; a token without one is kept a minute. */
export const expiryMsOf = (payload: { exp?: number }) =>
  typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now() + 60_000;
