import type { Clock } from '../../adapters/clock.ts';
import type { DocumentStore } from '../../adapters/documentStore.ts';
import type { Scope } from '../../auth/principal.ts';

interface LeaseRecord {
  holder_id: string;
  fencing_token: number;
  /**
   * The first token of the holder's current run of tokens with no other holder in between: a renewal,
   * or a retake by the same holder after it let go or lapsed, keeps it (nobody else can have written
   * meanwhile). Absent in records written before it existed.
   */
  held_since_token?: number;
  acquired_at: string;
  expires_at_ms: number;
}

/**
 * The single-writer fence of one workspace's compactor (state spec B4, ours [D]): a Firestore record
 * whose fencing token strictly increases with every acquisition. Release expires it in place, never
 * deletes it, so the next holder always outranks the last.
 */
export class CompactionLease {
  constructor(
    private readonly documents: DocumentStore,
    private readonly scope: Scope,
    private readonly clock: Clock,
    private readonly holderId: string,
    private readonly ttlMs = 30_000,
  ) {}

  private get path() {
    return `tenants/${this.scope.tenant}/workspaces/${this.scope.workspace}/leases/orchestration-compaction`;
  }

  /** The fencing token, or null while another holder's lease is live. */
  async acquire(): Promise<number | null> {
    const now = this.clock.now().getTime();
    const current = await this.documents.getVersioned<LeaseRecord>(this.path);
    if (current && current.data.expires_at_ms > now && current.data.holder_id !== this.holderId) return null;
    const fencingToken = (current?.data.fencing_token ?? 0) + 1;
    const ours = current?.data.holder_id === this.holderId;
    const record: LeaseRecord = {
      holder_id: this.holderId,
      fencing_token: fencingToken,
      held_since_token: ours ? (current.data.held_since_token ?? current.data.fencing_token) : fencingToken,
      acquired_at: new Date(now).toISOString(),
      expires_at_ms: now + this.ttlMs,
    };
    const written = await this.documents.compareAndSet(this.path, record, current?.version ?? null);
    return written.status === 'written' ? record.fencing_token : null;
  }

  /** True when nobody else holds a live lease (it is expired, released, ours or was never taken). */
  async free(): Promise<boolean> {
    const current = await this.documents.get<LeaseRecord>(this.path);
    return (
      !current ||
      current.data.expires_at_ms <= this.clock.now().getTime() ||
      current.data.holder_id === this.holderId
    );
  }

  /**
   * True while the lease is live, this holder's, and no other holder has had it since `token` (renewals
   * move the token on, so a renewal that lands while the caller checks cannot fail it). Checked right
   * before anything becomes visible.
   */
  async holds(token: number): Promise<boolean> {
    const current = await this.documents.get<LeaseRecord>(this.path);
    return (
      current !== null &&
      (current.data.held_since_token ?? current.data.fencing_token) <= token &&
      token <= current.data.fencing_token &&
      current.data.holder_id === this.holderId &&
      current.data.expires_at_ms > this.clock.now().getTime()
    );
  }

  async release(token: number): Promise<void> {
    const current = await this.documents.getVersioned<LeaseRecord>(this.path);
    if (!current || current.data.fencing_token !== token || current.data.holder_id !== this.holderId) return;
    await this.documents.compareAndSet(this.path, { ...current.data, expires_at_ms: 0 }, current.version);
  }
}
