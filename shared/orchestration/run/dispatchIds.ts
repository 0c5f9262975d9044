import { createHash } from 'node:crypto';

/** Deterministic ids of a dispatch (orchestration spec §1, §19). */
export const dispatchIdOf = (runId: string, taskKey: string, attempt: number) =>
  `dispatch:${runId}:${taskKey}:${attempt}`;

export const attemptIdOf = (dispatchId: string) =>
  `att_${createHash('sha256').update(`attempt:${dispatchId}`).digest('hex').slice(0, 24)}`;

/** `ct1_` + base64url(runId 0x00 taskKey): opaque to workers, decodable by the callback routes. */
export const taskIdOf = (runId: string, taskKey: string) =>
  `ct1_${Buffer.from(`${runId}\u0000${taskKey}`).toString('base64url')}`;

export function parseTaskId(taskId: string): { runId: string; taskKey: string } | null {
  if (!taskId.startsWith('ct1_')) return null;
  const [runId, taskKey, ...rest] = Buffer.from(taskId.slice(4), 'base64url')
    .toString('utf8')
    .split('\u0000');
  return runId && taskKey && !rest.length ? { runId, taskKey } : null;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** `d_…` for dispatches, `t_…` for timers: the same internal id always names the same Cloud Task. */
export const cloudTaskName = (prefix: 'd' | 't', internalId: string) =>
  `${prefix}_${base32(createHash('sha256').update(internalId).digest()).slice(0, 26)}`;

export const retryTimerIdOf = (runId: string, taskKey: string, attempt: number, fireAtMs: number) =>
  `timer:retry:${runId}:${taskKey}:${attempt}:${Math.floor(fireAtMs / 1000)}`;
