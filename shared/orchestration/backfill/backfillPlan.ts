/**
 * Backfill planning as pure functions (orchestration spec §16): selectors to partitions, chunk slices,
 * chunk states from their runs, the concurrency budget and completion.
 */
export type PartitionSelector =
  | { type: 'explicit'; partitions: string[] }
  | { type: 'range'; start: string; end: string }
  | { type: 'filter'; filters: { start: string; end: string } };

export class BackfillRequestError extends Error {}

export const MAX_BACKFILL_PARTITIONS = 10_000;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function days(start: string, end: string): string[] {
  if (
    !DAY.test(start) ||
    !DAY.test(end) ||
    Number.isNaN(Date.parse(`${start}T00:00:00Z`)) ||
    Number.isNaN(Date.parse(`${end}T00:00:00Z`))
  )
    throw new BackfillRequestError('partition selector bounds must use YYYY-MM-DD');
  if (start > end)
    throw new BackfillRequestError('partition selector start must be less than or equal to end');
  const out: string[] = [];
  for (let t = Date.parse(`${start}T00:00:00Z`); t <= Date.parse(`${end}T00:00:00Z`); t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
    if (out.length > MAX_BACKFILL_PARTITIONS)
      throw new BackfillRequestError(`a backfill may cover at most ${MAX_BACKFILL_PARTITIONS} partitions`);
  }
  return out;
}

/** Validates a selector (spec §16.1 messages) and lists its partitions in order. */
export function normaliseSelector(input: Record<string, unknown>): {
  selector: PartitionSelector;
  partitions: string[];
} {
  switch (input.type) {
    case 'explicit': {
      const partitions = input.partitions as unknown;
      if (!Array.isArray(partitions) || partitions.length === 0)
        throw new BackfillRequestError('partition selector cannot be empty');
      if (partitions.some((p) => typeof p !== 'string' || p.trim() === ''))
        throw new BackfillRequestError('partition selector cannot contain empty partitions');
      if (partitions.length > MAX_BACKFILL_PARTITIONS)
        throw new BackfillRequestError(`a backfill may cover at most ${MAX_BACKFILL_PARTITIONS} partitions`);
      const unique = [...new Set(partitions as string[])];
      return { selector: { type: 'explicit', partitions: unique }, partitions: unique };
    }
    case 'range': {
      const start = String(input.start ?? '');
      const end = String(input.end ?? '');
      return { selector: { type: 'range', start, end }, partitions: days(start, end) };
    }
    case 'filter': {
      const filters = (input.filters ?? {}) as Record<string, unknown>;
      const entries = Object.entries(filters);
      if (entries.length === 0 || entries.some(([k, v]) => !k.trim() || typeof v !== 'string' || !v.trim()))
        throw new BackfillRequestError('filter selector cannot be empty or contain blank keys or values');
      if (entries.some(([k]) => !['start', 'end', 'partition_start', 'partition_end'].includes(k)))
        throw new BackfillRequestError('filter selector supports only start/end bounds');
      const bound = (a: string, b: string, which: string) => {
        const x = filters[a] as string | undefined;
        const y = filters[b] as string | undefined;
        if (x !== undefined && y !== undefined && x !== y)
          throw new BackfillRequestError(`filter selector ${which} bounds are conflicting`);
        return x ?? y;
      };
      const start = bound('start', 'partition_start', 'start');
      const end = bound('end', 'partition_end', 'end');
      if (!start || !end) throw new BackfillRequestError('filter selector requires start/end bounds');
      return { selector: { type: 'filter', filters: { start, end } }, partitions: days(start, end) };
    }
    default:
      throw new BackfillRequestError('partition selector type must be explicit, range or filter');
  }
}

export const totalChunks = (partitions: number, chunkSize: number) => Math.ceil(partitions / chunkSize);

export const chunkSlice = (partitions: string[], chunkSize: number, index: number) =>
  partitions.slice(index * chunkSize, (index + 1) * chunkSize);

export type ChunkState = 'PLANNED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/**
 * Backfill states (spec §16.2, with the cancel of issue #16): a cancel moves the backfill to CANCELING
 * at once, and the controller moves it to CANCELED once no run it started is still active. SUCCEEDED,
 * FAILED and CANCELED are final.
 */
export const BACKFILL_STATES = [
  'PENDING',
  'RUNNING',
  'PAUSED',
  'CANCELING',
  'SUCCEEDED',
  'FAILED',
  'CANCELED',
] as const;

/**
 * A stored state as the API names it: backfills cancelled before CANCELING existed were folded as
 * `CANCELLED` (cancelled at once, their runs left to finish), which reads as CANCELED.
 */
export const publicBackfillState = (state: string) => (state === 'CANCELLED' ? 'CANCELED' : state);

/** Spec §16.4 (our rule): a chunk follows its run; a run not folded yet leaves it PLANNED. */
export function chunkState(runState: string | undefined): ChunkState {
  if (runState === undefined) return 'PLANNED';
  if (runState === 'SUCCEEDED') return 'SUCCEEDED';
  if (runState === 'FAILED' || runState === 'CANCELLED') return 'FAILED';
  return 'RUNNING';
}

export interface BackfillProgress {
  state: string;
  total: number;
  chunkSize: number;
  maxConcurrentRuns: number;
  /** States of the chunks recorded so far (planned, or started and recorded by a cancel), by index. */
  chunks: Map<number, ChunkState>;
}

/** Which chunk indexes to plan now: the lowest unplanned ones, never more than the budget allows. */
export function chunksToPlan(progress: BackfillProgress): number[] {
  if (progress.state !== 'RUNNING' || progress.chunkSize <= 0 || progress.maxConcurrentRuns <= 0) return [];
  const active = [...progress.chunks.values()].filter((s) => s === 'PLANNED' || s === 'RUNNING').length;
  let budget = progress.maxConcurrentRuns - active;
  const plan: number[] = [];
  for (let i = 0; i < totalChunks(progress.total, progress.chunkSize) && budget > 0; i++)
    if (!progress.chunks.has(i)) {
      plan.push(i);
      budget -= 1;
    }
  return plan;
}

/** RUNNING → SUCCEEDED when every chunk succeeded; → FAILED when all are terminal and one failed. */
export function completionOf(progress: BackfillProgress): 'SUCCEEDED' | 'FAILED' | null {
  if (progress.state !== 'RUNNING') return null;
  const total = totalChunks(progress.total, progress.chunkSize);
  if (progress.chunks.size < total) return null;
  const states = [...progress.chunks.values()];
  if (states.some((s) => s === 'PLANNED' || s === 'RUNNING')) return null;
  return states.every((s) => s === 'SUCCEEDED') ? 'SUCCEEDED' : 'FAILED';
}

/**
 * Chunk indexes a planner that decided on an older state than `progress` may be starting right now
 * (spec §16.3 plans the lowest unrecorded indexes, at most `maxConcurrentRuns`): the lowest
 * `maxConcurrentRuns` indexes not recorded here. A planner that saw fewer chunks recorded picks from
 * a superset of these unrecorded indexes, so its k-th pick is never above our k-th; fencing these
 * covers every chunk run that can start concurrently with a cancel and is not recorded yet.
 */
export function chunksToFence(progress: BackfillProgress): number[] {
  const fence: number[] = [];
  const total = totalChunks(progress.total, progress.chunkSize);
  for (let i = 0; i < total && fence.length < Math.max(progress.maxConcurrentRuns, 1); i++)
    if (!progress.chunks.has(i)) fence.push(i);
  return fence;
}

/**
 * CANCELING → CANCELED once every run the backfill started has ended: every recorded chunk is
 * terminal, and every chunk a concurrent planner could still start is fenced off (`unfenced` lists the
 * fenced indexes where a run was started before the fence and is not recorded yet; it must be recorded
 * and finish first). Null while the backfill must keep waiting.
 */
export function cancelCompletion(progress: BackfillProgress, unfenced: number[]): 'CANCELED' | null {
  if (progress.state !== 'CANCELING' || unfenced.length) return null;
  const states = [...progress.chunks.values()];
  return states.some((s) => s === 'PLANNED' || s === 'RUNNING') ? null : 'CANCELED';
}

const TRANSITIONS: Record<string, string[]> = {
  PENDING: ['RUNNING', 'CANCELING'],
  RUNNING: ['PAUSED', 'SUCCEEDED', 'FAILED', 'CANCELING'],
  PAUSED: ['RUNNING', 'CANCELING'],
  CANCELING: ['CANCELED'],
};

export const canTransition = (from: string, to: string) => TRANSITIONS[from]?.includes(to) ?? false;
