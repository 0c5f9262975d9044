import { describe, expect, it } from 'vitest';
import {
  type CompactionHint,
  coalescedHints,
  parseCompactionHint,
} from '../../shared/orchestration/state/compactionHint.ts';

const batch = (id: string) => ({ batchId: id, paths: [`ledger/${id}.json`] });
const hintOf = (workspace: string, id: string): CompactionHint => ({
  tenant: 't',
  workspace,
  batches: [batch(id)],
});

describe('compaction hints', () => {
  it('send the first hint at once and carry the batches appended meanwhile in the next, per workspace', async () => {
    const sent: CompactionHint[] = [];
    const releases: Array<() => void> = [];
    const send = coalescedHints(async (hint) => {
      sent.push(hint);
      await new Promise<void>((resolve) => releases.push(resolve));
    });
    const first = send(hintOf('a', 'b1'));
    const queued = [send(hintOf('a', 'b2')), send(hintOf('a', 'b3'))];
    const other = send(hintOf('b', 'x1'));
    const scan = send({ tenant: 't', workspace: 'a', batches: [] });
    expect(sent.map((h) => [h.workspace, h.batches.map((b) => b.batchId)])).toEqual([
      ['a', ['b1']],
      ['b', ['x1']],
      ['a', []],
    ]);
    releases.splice(0).forEach((release) => release());
    await Promise.all([first, other, scan]);
    await new Promise((resolve) => setImmediate(resolve));
    // b2 and b3 waited for b1's send and then went together.
    expect(sent.at(-1)!.batches.map((b) => b.batchId)).toEqual(['b2', 'b3']);
    releases.splice(0).forEach((release) => release());
    await Promise.all(queued);
  });

  it('reject the callers of a failed send only', async () => {
    let fail = true;
    const send = coalescedHints(async () => {
      if (fail) throw new Error('queue unavailable');
    });
    await expect(send(hintOf('a', 'b1'))).rejects.toThrow('queue unavailable');
    fail = false;
    await expect(send(hintOf('a', 'b2'))).resolves.toBeUndefined();
  });

  it('parse batches, drop malformed ones, and read the one-batch form', () => {
    expect(
      parseCompactionHint({ tenant: 't', workspace: 'w', batches: [batch('b1'), { batchId: 3 }, null] }),
    ).toEqual({ tenant: 't', workspace: 'w', batches: [batch('b1')] });
    expect(parseCompactionHint({ tenant: 't', workspace: 'w', ...batch('b1'), eventsJson: '[]' })).toEqual({
      tenant: 't',
      workspace: 'w',
      batches: [{ ...batch('b1'), eventsJson: '[]' }],
    });
    expect(parseCompactionHint({ tenant: 't', workspace: 'w' })).toEqual({
      tenant: 't',
      workspace: 'w',
      batches: [],
    });
    expect(parseCompactionHint({ tenant: '../x', workspace: 'w' })).toBeNull();
  });
});
