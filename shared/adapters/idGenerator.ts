import { monotonicFactory } from 'ulid';

/** Mints ULIDs that strictly increase within a process, even within one millisecond (spec §1). */
export interface IdGenerator {
  next(atMs?: number): string;
}

export function monotonicUlids(): IdGenerator {
  const factory = monotonicFactory();
  return { next: (atMs) => factory(atMs ?? Date.now()) };
}
