import { OAuth2Client } from 'google-auth-library';
import type { DocumentStore } from '../adapters/documentStore.ts';
import { principalFromClaims } from './localTokens.ts';
import type { Principal } from './principal.ts';
import { InvalidTokenError, type TokenVerifier } from './tokenVerifier.ts';

export interface GoogleOidcOptions {
  /** The audience our functions were called with (their URL). */
  audience: string | string[];
  /** Service accounts whose tokens are the internal identity (Cloud Tasks, Scheduler, other functions). */
  internalServiceAccounts: string[];
  directory: DocumentStore;
  /** For tests only: PEM certificates keyed by kid instead of Google's published ones. */
  certificates?: Record<string, string>;
}

interface DirectoryEntry {
  tenant: string;
  workspace: string;
  roles: string[];
}

/**
 * Production auth: a Google-signed OIDC ID token, mapped to tenant/workspace/roles by the principal
 * directory (`arco_principals/{email}` in Firestore). Unknown identities are refused.
 */
export class GoogleOidcVerifier implements TokenVerifier {
  private readonly client = new OAuth2Client();

  constructor(private readonly options: GoogleOidcOptions) {}

  async verify(token: string): Promise<Principal> {
    let payload: Record<string, unknown> | undefined;
    try {
      const ticket = this.options.certificates
        ? await this.client.verifySignedJwtWithCertsAsync(
            token,
            this.options.certificates,
            this.options.audience,
            ['https://accounts.google.com', 'accounts.google.com'],
          )
        : await this.client.verifyIdToken({ idToken: token, audience: this.options.audience });
      payload = ticket.getPayload() as Record<string, unknown> | undefined;
    } catch (error) {
      throw new InvalidTokenError(
        /expired|too late/i.test(String(error)) ? 'token expired' : 'invalid token',
      );
    }
    const email =
      typeof payload?.email === 'string' && payload.email_verified !== false ? payload.email : undefined;
    if (!email) throw new InvalidTokenError('token carries no verified email');
    if (this.options.internalServiceAccounts.includes(email)) {
      return { subject: email, roles: [], internal: true };
    }
    const entry = await this.options.directory.get<DirectoryEntry>(`arco_principals/${email}`);
    if (!entry) throw new InvalidTokenError('identity is not registered with Arco');
    return principalFromClaims({ ...entry.data, sub: email, internal: false });
  }
}
