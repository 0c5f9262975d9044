import type { DocumentStore } from '../../adapters/documentStore.ts';
import type { Scope } from '../../auth/principal.ts';
import { sha256Hex } from '../../core/hashing.ts';
import type { EventData } from '../state/events.ts';

/** The Firestore record that makes a run key trigger at most one run (orchestration spec §4.2). */
export interface RunKeyReservation {
  runKey: string;
  runId: string;
  planId: string;
  eventId: string;
  planEventId: string;
  requestFingerprint: string;
  createdAt: string;
  /** The exact events the reservation stands for, so a crash before they were appended can be repaired. */
  runTriggered: EventData;
  planCreated: EventData;
}

export class RunKeyCollisionError extends Error {}

export const reservationPath = (scope: Scope, runKey: string) =>
  `tenants/${scope.tenant}/workspaces/${scope.workspace}/runKeys/${sha256Hex(runKey).slice(0, 40)}`;

export async function readReservation(
  documents: DocumentStore,
  scope: Scope,
  runKey: string,
): Promise<RunKeyReservation | null> {
  const found = await documents.get<RunKeyReservation>(reservationPath(scope, runKey));
  if (found && found.data.runKey !== runKey)
    throw new RunKeyCollisionError(`run key hash collision for ${runKey}`);
  return found?.data ?? null;
}

/** Create-if-absent: exactly one of any number of racing triggers creates it; the others read the winner. */
export async function reserveRunKey(
  documents: DocumentStore,
  scope: Scope,
  reservation: RunKeyReservation,
): Promise<{ created: true } | { created: false; existing: RunKeyReservation }> {
  const result = await documents.create(reservationPath(scope, reservation.runKey), reservation);
  if (result.status === 'created') return { created: true };
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const existing = await readReservation(documents, scope, reservation.runKey);
    if (existing) return { created: false, existing };
    await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
  }
  throw new Error(`run key ${reservation.runKey} is reserved but its record cannot be read`);
}
