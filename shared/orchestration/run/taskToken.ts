import { errors, jwtVerify, SignJWT } from 'jose';
import { hmacKeyFor } from '../../auth/hmacKey.ts';
import { expiryMsOf, VerifiedTokens } from '../../auth/verifiedTokens.ts';

/** The bearer a worker presents on its callbacks (orchestration spec §18.6): HS256, one per dispatch. */
export interface TaskTokenClaims {
  taskId: string;
  tenantId: string;
  workspaceId: string;
  runId: string;
  attempt: number;
  attemptId: string;
  /**
   * What the dispatch knew of the task, so a callback that arrives before the task is published can be
   * judged (failure classification needs the step and its pipeline) without reading projections.
   */
  taskKey?: string;
  assetKey?: string;
  partitionKey?: string;
  pipeline?: string;
  asOfMode?: string;
}

export class TaskTokenError extends Error {}

export async function mintTaskToken(
  secret: string,
  claims: TaskTokenClaims,
  nowMs: number,
  ttlSeconds = 3600,
): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('arco-orchestrator')
    .setAudience('arco-task-callbacks')
    .setIssuedAt(now)
    .setNotBefore(now - 5)
    .setExpirationTime(now + ttlSeconds)
    .sign(await hmacKeyFor(secret));
}

export function verifyTaskToken(secret: string, token: string): Promise<TaskTokenClaims> {
  // The secret is part of the key: a token verified under one secret is not taken under another.
  return verifiedTaskTokens.get(`${secret.length}:${secret}:${token}`, async () => {
    try {
      const { payload } = await jwtVerify(token, await hmacKeyFor(secret), {
        issuer: 'arco-orchestrator',
        audience: 'arco-task-callbacks',
        algorithms: ['HS256'],
      });
      for (const claim of ['taskId', 'tenantId', 'workspaceId', 'runId', 'attempt', 'attemptId'])
        if (payload[claim] === undefined) throw new TaskTokenError('missing_scope_claims');
      return { value: payload as unknown as TaskTokenClaims, expiresAtMs: expiryMsOf(payload) };
    } catch (error) {
      if (error instanceof TaskTokenError) throw error;
      throw new TaskTokenError(error instanceof errors.JWTExpired ? 'token expired' : 'invalid token');
    }
  });
}

const verifiedTaskTokens = new VerifiedTokens<TaskTokenClaims>();
