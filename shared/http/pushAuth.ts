import type { MiddlewareHandler } from 'hono';
import type { TokenVerifier } from '../auth/tokenVerifier.ts';
import type { AppEnv } from './appEnv.ts';
import { authenticate, requireInternal } from './authMiddleware.ts';

/**
 * Pub/Sub push endpoints: locally the emulator sends no identity, so the subscription URL carries a
 * secret (`?token=`); in GCP the subscription presents an OIDC token of the internal identity instead.
 */
export function pushAuth(tokens: TokenVerifier, pushToken: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = c.req.query('token');
    if (token !== undefined && pushToken !== '' && token === pushToken) {
      await next();
      return;
    }
    await authenticate(tokens)(c, async () => {
      await requireInternal(c, next);
    });
  };
}
