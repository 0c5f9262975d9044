import { generateKeyPairSync } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { FirestoreDocumentStore } from '../../shared/adapters/firestoreDocumentStore.ts';
import { GoogleOidcVerifier } from '../../shared/auth/googleOidcVerifier.ts';
import { uniqueName } from '../support/testDependencies.ts';

describe('GoogleOidcVerifier (production auth) with locally generated certificates', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const audience = 'https://arco-api.example.run.app';
  const directory = new FirestoreDocumentStore();
  const verifier = new GoogleOidcVerifier({
    audience,
    internalServiceAccounts: ['tasks@proj.iam.gserviceaccount.com'],
    directory,
    certificates: { k1: pem },
  });
  const idToken = async (email: string, overrides: { aud?: string; exp?: number } = {}) =>
    new SignJWT({ email, email_verified: true })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer('https://accounts.google.com')
      .setAudience(overrides.aud ?? audience)
      .setSubject('1234')
      .setIssuedAt()
      .setExpirationTime(overrides.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256'));

  it('maps a registered identity to its tenant, workspace and roles', async () => {
    const email = `${uniqueName('user')}@example.com`;
    await directory.set(`arco_principals/${email}`, {
      tenant: 'acme',
      workspace: 'sales',
      roles: ['operator', 'nonsense'],
    });
    expect(await verifier.verify(await idToken(email))).toEqual({
      subject: email,
      scope: { tenant: 'acme', workspace: 'sales' },
      roles: ['operator'],
      internal: false,
    });
  });

  it('treats the configured service accounts as the internal identity', async () => {
    expect(await verifier.verify(await idToken('tasks@proj.iam.gserviceaccount.com'))).toMatchObject({
      internal: true,
    });
  });

  it('refuses unregistered identities, other audiences and expired tokens', async () => {
    await expect(verifier.verify(await idToken('stranger@example.com'))).rejects.toThrow(
      'identity is not registered',
    );
    await expect(
      verifier.verify(await idToken('tasks@proj.iam.gserviceaccount.com', { aud: 'https://other' })),
    ).rejects.toThrow('invalid token');
    await expect(
      verifier.verify(
        await idToken('tasks@proj.iam.gserviceaccount.com', { exp: Math.floor(Date.now() / 1000) - 3600 }),
      ),
    ).rejects.toThrow('token expired');
  });
});
