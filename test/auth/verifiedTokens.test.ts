import { describe, expect, it } from 'vitest';
import { VerifiedTokens } from '../../shared/auth/verifiedTokens.ts';

describe('verified tokens', () => {
  it('verify a token once until it expires, never keep a failure, and stay bounded', async () => {
    const tokens = new VerifiedTokens<string>(2);
    let verifications = 0;
    const verify =
      (value: string, expiresAtMs = Date.now() + 60_000) =>
      async () => {
        verifications += 1;
        return { value, expiresAtMs };
      };
    expect(await tokens.get('a', verify('A'))).toBe('A');
    expect(await tokens.get('a', verify('other'))).toBe('A');
    expect(verifications).toBe(1);
    // Expired: verified again.
    await tokens.get('old', verify('OLD', Date.now() - 1));
    await tokens.get('old', verify('OLD'));
    expect(verifications).toBe(3);
    const failing = async (): Promise<{ value: string; expiresAtMs: number }> => {
      throw new Error('invalid token');
    };
    await expect(tokens.get('bad', failing)).rejects.toThrow('invalid token');
    await expect(tokens.get('bad', failing)).rejects.toThrow('invalid token');
    // Bounded: a third token pushes out the oldest.
    await tokens.get('c', verify('C'));
    await tokens.get('a', verify('A again'));
    expect(await tokens.get('a', verify('unused'))).toBe('A again');
  });
});
