import { CompactionInputError, LeaseBusyError } from '../orchestration/state/compactor.ts';
import { ApiError } from './apiError.ts';

/**
 * A compaction or rebuild refusal as the API answers it: another instance holding the workspace's lease
 * → 409 `lease_busy` with `Retry-After: 1`; a bad rebuild input → its own 400/404/409 and details.
 * Anything else is rethrown (500).
 */
export function compactionError(error: unknown): never {
  if (error instanceof LeaseBusyError)
    throw new ApiError(409, error.message, { reason: 'lease_busy' }, undefined, { 'Retry-After': '1' });
  if (error instanceof CompactionInputError) throw new ApiError(error.status, error.message, error.details);
  throw error;
}
