import type { Clock } from '../../adapters/clock.ts';
import type { Logger } from '../../observability/logger.ts';
import { type CompactionResult, type Compactor, LeaseBusyError, type PendingBatch } from './compactor.ts';
import { detachedFromRequest } from '../../runtime/detachedFromRequest.ts';

export interface SchedulerOptions {
  /** Least time between two publishes, ms (the pointer takes about one write per second). */
  publishIntervalMs: number;
  /** Heartbeat-only changes are published at most this often, ms (they never cause a publish sooner). */
  heartbeatPublishIntervalMs?: number;
  /** How often a session looks for pending batches whose hint went to another instance or was lost, ms. */
  scanIntervalMs?: number;
  /** A session renews its lease this often, ms (well inside the lease's 30 s). */
  renewIntervalMs?: number;
}

/**
 * How far before the last scan's start the scan before a publish looks (ms): a batch whose id was minted
 * just before that scan may have had its pending record written just after it. One it still misses is
 * found by the next periodic scan.
 */
const TAIL_SCAN_MARGIN_MS = 250;

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * The per-workspace scheduler of one process (issue: "one scheduler per workspace, event-driven"): it
 * takes append hints, folds their batches into the compactor's warm state and runs the controllers in
 * the same cycle (so dispatch decisions never wait for a publish), and publishes on a cadence, at most
 * once per `publishIntervalMs`. A session holds the compaction lease while there is work or something
 * worth publishing, and ends when idle. A hint that meets another instance's lease is left to that
 * instance, whose periodic scan of the pending batches finds it; a session's last act is one more scan,
 * so a batch hinted while it was ending is never stranded.
 */
export class WorkspaceScheduler {
  private inbox: PendingBatch[] = [];
  private scanRequested = true;
  private forcePublish = false;
  private foldWaiters: Array<Waiter<boolean>> = [];
  private publishWaiters: Array<Waiter<CompactionResult>> = [];
  /** Exclusive work run inside a session with its fencing token (-1: the lease is held elsewhere). */
  private jobs: Array<(token: number) => Promise<void>> = [];
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private lastPublishMs = 0;
  private publishing: Promise<void> | null = null;
  private publishFailure: Error | null = null;
  private failures = 0;

  constructor(
    private readonly compactor: Compactor,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: SchedulerOptions,
  ) {}

  /**
   * Folds hinted batches (or, without any, whatever is pending); resolves once folded and its controllers ran
   * (true; a batch held back behind a catch-up scan's page limit stays pending for a later scan), or at
   * once when another instance holds the lease and will fold it (false).
   */
  hint(batches: PendingBatch[] = []): Promise<boolean> {
    if (batches.length) this.inbox.push(...batches);
    else this.scanRequested = true;
    const done = new Promise<boolean>((resolve, reject) => this.foldWaiters.push({ resolve, reject }));
    this.kick();
    return done;
  }

  /** Folds everything pending and publishes now (operators' `/compact`, tests); LeaseBusyError if another holds the lease. */
  drain(): Promise<CompactionResult> {
    this.scanRequested = true;
    this.forcePublish = true;
    const done = new Promise<CompactionResult>((resolve, reject) =>
      this.publishWaiters.push({ resolve, reject }),
    );
    this.kick();
    return done;
  }

  /**
   * Replays a rebuild manifest inside the session, so it never races this process's own folding;
   * LeaseBusyError while another instance holds the lease.
   */
  async rebuild(path: string): Promise<CompactionResult> {
    const paths = await this.compactor.rebuildPaths(path);
    return new Promise<CompactionResult>((resolve, reject) => {
      this.jobs.push(async (token) => {
        if (token < 0) {
          reject(new LeaseBusyError());
          return;
        }
        try {
          this.lastPublishMs = this.clock.now().getTime();
          resolve(await this.compactor.rebuildUnderLease(token, paths));
        } catch (error) {
          reject(error);
          throw error;
        }
      });
      this.kick();
    });
  }

  private hasWork() {
    return (
      this.inbox.length > 0 ||
      this.jobs.length > 0 ||
      this.scanRequested ||
      (this.forcePublish && !this.publishing)
    );
  }

  /**
   * Publishes what was folded so far while the session goes on folding and dispatching (issue: "projections
   * published on a cadence, decoupled from dispatch"): the compactor takes the rows to write at once, so
   * later folds wait for the next publish. One publish at a time; a failure ends the session, whose
   * pending batches are then folded again.
   */
  private publishInBackground(
    token: number,
    dirty: boolean,
    waiters: Array<Waiter<CompactionResult>>,
  ): Promise<void> {
    return this.compactor
      .publish(token)
      .then(
        (result) => {
          if (dirty) this.lastPublishMs = this.clock.now().getTime();
          for (const waiter of waiters) waiter.resolve(result);
          this.failures = 0;
        },
        (error: unknown) => {
          for (const waiter of waiters) waiter.reject(error);
          this.publishFailure = error instanceof Error ? error : new Error(String(error));
        },
      )
      .finally(() => {
        this.publishing = null;
        this.wake?.();
      });
  }

  private kick() {
    if (this.running) {
      this.wake?.();
      return;
    }
    // The handlers too: chained here they, and the retry timer they set, were bound to the request.
    this.running = detachedFromRequest(() =>
      this.session()
        .catch((error: unknown) => {
          this.failures += 1;
          this.log.error('compaction session failed; the pending batches are folded again', {
            error: String(error),
          });
        })
        .finally(() => {
          this.running = null;
          if (this.hasWork() || this.compactor.dirty().worthPublishing) {
            this.scanRequested = true;
            // Back off after failures so a persistent fault does not spin.
            const delay = this.failures ? Math.min(5_000, 100 * 2 ** (this.failures - 1)) : 0;
            setTimeout(() => this.kick(), delay).unref?.();
          }
        }),
    );
  }

  private settleAll(error: unknown) {
    for (const waiter of this.foldWaiters.splice(0)) waiter.reject(error);
    for (const waiter of this.publishWaiters.splice(0)) waiter.reject(error);
  }

  private async session(): Promise<void> {
    const scanEvery = this.options.scanIntervalMs ?? 1_000;
    const renewEvery = this.options.renewIntervalMs ?? 10_000;
    const heartbeatEvery = this.options.heartbeatPublishIntervalMs ?? 15_000;
    let token: number | null = null;
    let nextScan = 0;
    let lastScanMs = 0;
    let nextRenew = 0;
    const renewIfDue = async () => {
      const now = this.clock.now().getTime();
      if (now < nextRenew) return;
      token = await this.compactor.acquire();
      if (token === null) throw new LeaseBusyError();
      nextRenew = now + renewEvery;
    };
    // What was asked before the lease was tried; later requests get a session of their own.
    const asked = {
      folds: this.foldWaiters.length,
      publishes: this.publishWaiters.length,
      jobs: this.jobs.length,
      inbox: this.inbox.length,
    };
    try {
      token = await this.compactor.acquire();
      if (token === null) {
        // The holder's own scans fold these batches; a drain or a rebuild needs an answer now.
        for (const waiter of this.foldWaiters.splice(0, asked.folds)) waiter.resolve(false);
        for (const waiter of this.publishWaiters.splice(0, asked.publishes))
          waiter.reject(new LeaseBusyError());
        for (const job of this.jobs.splice(0, asked.jobs)) await job(-1).catch(() => {});
        this.inbox.splice(0, asked.inbox);
        if (!this.foldWaiters.length) this.scanRequested = false;
        if (!this.publishWaiters.length) this.forcePublish = false;
        return;
      }
      nextRenew = this.clock.now().getTime() + renewEvery;
      for (;;) {
        if (this.publishFailure) throw this.publishFailure;
        await renewIfDue();
        // A job (a rebuild) replaces the warm state: the publish in flight finishes first.
        if (this.jobs.length) await this.publishing;
        if (this.publishFailure) throw this.publishFailure;
        for (const job of this.jobs.splice(0)) await job(token);
        // Everything asked for before this point is served by this pass: a drain that arrives during
        // the pass waits for the next one, which scans again.
        const waiters = this.foldWaiters.splice(0);
        const publishWaiters = this.publishWaiters.splice(0);
        const forced = this.forcePublish;
        this.forcePublish = false;
        const batches = this.inbox.splice(0);
        try {
          const scanStartMs = this.clock.now().getTime();
          if (this.scanRequested || scanStartMs >= nextScan) {
            this.scanRequested = false;
            batches.push(...(await this.compactor.pendingBatches()));
            nextScan = this.clock.now().getTime() + scanEvery;
            lastScanMs = scanStartMs;
          } else if (
            !this.publishing &&
            this.compactor.dirty().worthPublishing &&
            scanStartMs - this.lastPublishMs >= this.options.publishIntervalMs
          ) {
            // A publish about to go out first takes the batches that woke no one (task starts), which
            // would otherwise need a publish of their own a second later. Only those appended since
            // the last scan (less a margin for appends in flight then): the folded ones awaiting this
            // publish are most of the pending records, and a full scan here would read them all.
            batches.push(...(await this.compactor.pendingBatches(false, lastScanMs - TAIL_SCAN_MARGIN_MS)));
            lastScanMs = scanStartMs;
          }
          if (batches.length) await this.compactor.fold(batches);
        } catch (error) {
          for (const waiter of [...waiters, ...publishWaiters]) waiter.reject(error);
          throw error;
        }
        // A publish that failed during this pass dropped the warm state this pass may have folded into
        // (or reloaded): nothing more is published from it, and its batches stay pending for the next session.
        if (this.publishFailure) {
          for (const waiter of [...waiters, ...publishWaiters]) waiter.reject(this.publishFailure);
          throw this.publishFailure;
        }
        for (const waiter of waiters) waiter.resolve(true);

        const now = this.clock.now().getTime();
        const { dirty, worthPublishing } = this.compactor.dirty();
        const sincePublish = now - this.lastPublishMs;
        const due =
          forced ||
          (worthPublishing && sincePublish >= this.options.publishIntervalMs) ||
          (dirty && sincePublish >= heartbeatEvery);
        if (!due || this.publishing) {
          // Served by a later publish: the one in flight took its rows before this pass folded.
          this.publishWaiters.unshift(...publishWaiters);
          if (forced) this.forcePublish = true;
        } else this.publishing = this.publishInBackground(token, dirty, publishWaiters);
        if (this.hasWork()) continue;
        const after = this.compactor.dirty();
        if (!after.dirty && !this.publishing) break;
        // Folded but unpublished (heartbeats wait up to their own interval), or a publish still writing:
        // keep the lease until then. A finished publish wakes the loop.
        const interval = after.worthPublishing ? this.options.publishIntervalMs : heartbeatEvery;
        const untilPublish =
          this.publishing || !after.dirty ? Number.POSITIVE_INFINITY : this.lastPublishMs + interval - now;
        await this.sleep(Math.max(1, untilPublish), nextScan);
      }
    } catch (error) {
      // A publish still writing finishes (or fails) before the warm state goes.
      await this.publishing?.catch(() => {});
      this.publishFailure = null;
      this.compactor.forget();
      this.settleAll(error);
      // What was folded is gone with the warm state; its pending records bring it back.
      this.scanRequested = true;
      throw error;
    } finally {
      if (token !== null && token > 0) await this.compactor.release(token);
    }
    // A batch whose hint reached another instance while this one held the lease is still pending.
    if ((await this.compactor.pendingBatches()).length) this.scanRequested = true;
  }

  /** Waits until the next publish is due, a scan is due, or new work arrives. */
  private sleep(untilPublishMs: number, nextScan: number): Promise<void> {
    const ms = Math.max(1, Math.min(untilPublishMs, nextScan - this.clock.now().getTime()));
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }
}
