import type { Principal } from './principal.ts';

/** Thrown for any token that must not be trusted; the message is safe to show the caller. */
export class InvalidTokenError extends Error {}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}
