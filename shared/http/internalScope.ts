import type { Context } from 'hono';
import { SCOPE_ID_PATTERN, type Scope } from '../auth/principal.ts';
import { ArcoError } from '../core/arcoError.ts';
import type { AppEnv } from './appEnv.ts';

/**
 * The workspace of an internal call (`/compactor/compact`, `/compactor/rebuild`): the token's scope,
 * else, for a service identity minted without one (Cloud Tasks, Cloud Scheduler), the workspace it
 * names with `X-Tenant-Id` and `X-Workspace-Id`. Neither → 400.
 */
export function internalScope(c: Context<AppEnv>): Scope {
  const principal = c.get('principal');
  if (principal.scope) return principal.scope;
  const tenant = c.req.header('x-tenant-id') ?? '';
  const workspace = c.req.header('x-workspace-id') ?? '';
  if (!SCOPE_ID_PATTERN.test(tenant) || !SCOPE_ID_PATTERN.test(workspace))
    throw new ArcoError(
      'invalid_argument',
      'an internal token without a workspace must name one with X-Tenant-Id and X-Workspace-Id',
    );
  return { tenant, workspace };
}
