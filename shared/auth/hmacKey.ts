/**
 * The HS256 key for `secret`, imported into WebCrypto once per process. jose (6.x) takes the secret
 * as bytes too, but then imports a CryptoKey on every sign and verify, which cost about half a
 * millisecond of CPU per task callback in `npm run bench dag`. Used by the task tokens
 * (orchestration spec §18.6) and the local stack's bearer tokens. The cache holds one entry per
 * secret a process uses (one or two).
 */
export function hmacKeyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    keys.set(secret, key);
  }
  return key;
}

const keys = new Map<string, Promise<CryptoKey>>();
