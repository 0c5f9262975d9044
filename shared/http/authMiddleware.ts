import type { MiddlewareHandler } from 'hono';
import type { Principal, Role } from '../auth/principal.ts';
import { InvalidTokenError, type TokenVerifier } from '../auth/tokenVerifier.ts';
import { ArcoError, forbidden, notFound } from '../core/arcoError.ts';
import type { AppEnv } from './appEnv.ts';
import { dialectForPath } from './errorBody.ts';

const unauthorizedFor = (path: string, message: string, orchestrationCode: string) =>
  new ArcoError('unauthenticated', message, undefined, {
    wireCode: dialectForPath(path) === 'registry' ? 'unauthorized' : orchestrationCode,
  });

/** Verifies the bearer token and sets the principal; scope is only ever taken from it. */
export function authenticate(verifier: TokenVerifier): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorizedFor(c.req.path, 'missing bearer token', 'MISSING_AUTH');
    let principal: Principal;
    try {
      principal = await verifier.verify(match[1]!);
    } catch (error) {
      if (error instanceof InvalidTokenError)
        throw unauthorizedFor(c.req.path, error.message, 'INVALID_TOKEN');
      throw error;
    }
    c.set('principal', principal);
    c.set('log', c.get('log').child({ principal: principal.subject }));
    await next();
  };
}

/** A path's workspace that is not the token's answers 404, indistinguishable from an absent one. */
export const requireWorkspace: MiddlewareHandler<AppEnv> = async (c, next) => {
  const workspace = c.req.param('workspaceId');
  if (!workspace || c.get('principal').scope?.workspace !== workspace) throw notFound('workspace not found');
  await next();
};

/** The caller's workspace scope; an internal identity minted without one has none. */
export const requireScope: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.get('principal').scope) throw forbidden('this route needs a token scoped to a workspace');
  await next();
};

export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!principal.internal && !roles.some((role) => principal.roles.includes(role)))
      throw forbidden(`this route needs one of the roles: ${roles.join(', ')}`);
    await next();
  };
}

export const requireInternal: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.get('principal').internal) throw forbidden('this route is for internal callers only');
  await next();
};
