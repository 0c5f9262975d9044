import { hmacKeyFor } from './hmacKey.ts';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errors, jwtVerify, SignJWT } from 'jose';
import { isRole, type Principal, type Role, SCOPE_ID_PATTERN } from './principal.ts';
import { InvalidTokenError, type TokenVerifier } from './tokenVerifier.ts';
import { expiryMsOf, VerifiedTokens } from './verifiedTokens.ts';

const ISSUER = 'arco-local';
const AUDIENCE = 'arco';

export interface LocalTokenRequest {
  tenant?: string;
  workspace?: string;
  roles?: Role[];
  internal?: boolean;
  subject?: string;
  ttlSeconds?: number;
}

/**
 * The local signing secret of a stack that already runs (ARCO_LOCAL_SECRET, else `{dataDir}/local-secret`);
 * throws, naming the file, when there is none, rather than mint tokens no stack accepts.
 */
export function existingLocalSecret(dataDir: string, env = process.env): string {
  if (env.ARCO_LOCAL_SECRET) return env.ARCO_LOCAL_SECRET;
  const file = join(dataDir, 'local-secret');
  if (!existsSync(file))
    throw new Error(
      `no local signing secret at ${file}: start the stack with \`npm start\`, or set ARCO_DATA_DIR to its data dir (\`source $ARCO_DATA_DIR/stack.env\` does)`,
    );
  return readFileSync(file, 'utf8').trim();
}

/**
 * The local stack's signing secret: ARCO_LOCAL_SECRET, else a random one kept in the data directory
 * (created on first start) so that `arco token` and `npm start` agree without configuration.
 */
export function resolveLocalSecret(dataDir: string, env = process.env): string {
  if (env.ARCO_LOCAL_SECRET) return env.ARCO_LOCAL_SECRET;
  const file = join(dataDir, 'local-secret');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}

export async function mintLocalToken(secret: string, request: LocalTokenRequest): Promise<string> {
  const claims: Record<string, unknown> = { roles: request.roles ?? [], internal: request.internal ?? false };
  if (request.tenant) claims.tenant = request.tenant;
  if (request.workspace) claims.workspace = request.workspace;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(request.subject ?? (request.internal ? 'internal' : 'local-user'))
    .setIssuedAt()
    .setExpirationTime(`${request.ttlSeconds ?? 12 * 3600}s`)
    .sign(await hmacKeyFor(secret));
}

/** Verifies HS256 tokens minted by `arco token` for the local stack. */
export class LocalTokenVerifier implements TokenVerifier {
  private readonly verified = new VerifiedTokens<Principal>();

  constructor(private readonly secret: string) {}

  verify(token: string): Promise<Principal> {
    return this.verified.get(token, async () => {
      let payload: Record<string, unknown> & { exp?: number };
      try {
        ({ payload } = await jwtVerify(token, await hmacKeyFor(this.secret), {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['HS256'],
        }));
      } catch (error) {
        if (error instanceof errors.JWTExpired) throw new InvalidTokenError('token expired');
        throw new InvalidTokenError('invalid token');
      }
      return { value: principalFromClaims(payload), expiresAtMs: expiryMsOf(payload) };
    });
  }
}

export function principalFromClaims(claims: Record<string, unknown>): Principal {
  const tenant = claims.tenant;
  const workspace = claims.workspace;
  const internal = claims.internal === true;
  const roles = Array.isArray(claims.roles)
    ? claims.roles.filter((r): r is Role => typeof r === 'string' && isRole(r))
    : [];
  const hasScope = typeof tenant === 'string' && typeof workspace === 'string';
  if (hasScope && (!SCOPE_ID_PATTERN.test(tenant) || !SCOPE_ID_PATTERN.test(workspace)))
    throw new InvalidTokenError('token scope is malformed');
  if (!hasScope && !internal) throw new InvalidTokenError('token names no tenant and workspace');
  return {
    subject: String(claims.sub ?? 'unknown'),
    ...(hasScope ? { scope: { tenant, workspace } } : {}),
    roles,
    internal,
  };
}
