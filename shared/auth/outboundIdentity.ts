import { GoogleAuth } from 'google-auth-library';
import type { Dependencies } from '../runtime/dependencies.ts';
import { mintLocalToken, resolveLocalSecret } from './localTokens.ts';
import type { Scope } from './principal.ts';

/**
 * The Authorization header the platform presents when it calls out (sensor evaluators): locally an
 * internal token of the workspace, in GCP the function's own Google ID token for the callee's audience.
 */
export async function internalAuthorization(
  deps: Dependencies,
  scope: Scope,
  audience: string,
): Promise<string> {
  if (deps.config.authMode === 'local') {
    const secret = resolveLocalSecret(deps.config.dataDir);
    return `Bearer ${await mintLocalToken(secret, { internal: true, tenant: scope.tenant, workspace: scope.workspace, ttlSeconds: 300 })}`;
  }
  const client = await new GoogleAuth().getIdTokenClient(audience);
  return (await client.getRequestHeaders()).get('authorization') ?? '';
}
