import { randomUUID } from 'node:crypto';
import type { ServerName } from '@axon/matrix-identifiers';
import type { Unsubscribe, Wakeups } from '@axon/platform-cache';
import type { DeliveryDirectory, DueDestination } from './ports';
import type { SenderLogger, TransactionOutcome } from './transaction-sender';

/**
 * The wake-up channel of the sender replicas: the consumers publish on it after they
 * committed rows to a queue, and every replica looks for work at once instead of at its
 * next poll. The payload is empty: the queues are the truth.
 */
export const FEDERATION_SENDER_CHANNEL = 'federation-sender';

/** Sends a destination's next transaction (`TransactionSender.sendNext`). */
export type SendNext = (destination: ServerName) => Promise<TransactionOutcome>;

export interface DeliverySchedulerOptions {
  /** A shard's lease lasts this long unless renewed (every third of it while this replica works on the shard). */
  readonly leaseMs?: number;
  /** Looking for work without a wake-up (rows left by a dead replica, backoffs ending), this often. */
  readonly pollMs?: number;
  /** Destinations this replica delivers to at once. */
  readonly maxConcurrent?: number;
  /** This replica's name in the leases (default a random UUID). */
  readonly holder?: string;
  readonly now?: () => number;
}

const LEASE_MS = 15_000;
const POLL_MS = 1_000;
const MAX_CONCURRENT = 64;
/** Due destinations read per pass: a few more than can start, so leases held elsewhere do not starve this replica. */
const DUE_READ_FACTOR = 4;
/** How long `stop` waits for transactions in flight (within the process's shutdown grace). */
const STOP_WAIT_MS = 5_000;

/**
 * Decides which destinations this replica delivers to, and runs one delivery loop per
 * destination. Concurrency, in short:
 *
 * - A destination belongs to a shard (`destinationShard`). A replica delivers to a
 *   destination only while it holds its shard's lease (`shard_leases`), so across
 *   replicas a destination has one sender; within a replica, `active` holds at most one
 *   loop per destination, and a loop sends one transaction at a time. Hence one
 *   transaction in flight per destination.
 * - Leases are taken when a pass finds due destinations in a shard, renewed every third
 *   of `leaseMs` while any loop of the shard runs, and given back when its last loop
 *   ends, so idle shards are free for any replica. A replica that dies holds its shards
 *   until their leases lapse; nothing is lost, since rows leave the queue only once the
 *   destination answered. Its transaction in flight is sent again, from the same rows,
 *   with the same ID.
 * - A renewal that finds a lease taken by another replica (this one stalled past its
 *   lease) stops the shard's loops after their current transaction.
 * - Lease statements run one after another, so a release cannot overtake a later take.
 */
export class DeliveryScheduler {
  private readonly holder: string;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly maxConcurrent: number;
  private readonly now: () => number;
  /** The delivery loop of each destination this replica is sending to. */
  private readonly active = new Map<ServerName, { readonly shard: number; readonly done: Promise<void> }>();
  private readonly heldShards = new Set<number>();
  private leaseOps: Promise<unknown> = Promise.resolve();
  private passing: Promise<void> | undefined;
  private passAgain = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private stopped = false;

  constructor(
    private readonly directory: DeliveryDirectory,
    private readonly sendNext: SendNext,
    private readonly logger: SenderLogger,
    private readonly wakeups?: Wakeups,
    options: DeliverySchedulerOptions = {},
  ) {
    this.holder = options.holder ?? randomUUID();
    this.leaseMs = options.leaseMs ?? LEASE_MS;
    this.pollMs = options.pollMs ?? POLL_MS;
    this.maxConcurrent = options.maxConcurrent ?? MAX_CONCURRENT;
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.wakeups?.subscribe(FEDERATION_SENDER_CHANNEL, () => void this.kick());
    this.renewTimer = setInterval(() => void this.renew(), Math.max(1, Math.floor(this.leaseMs / 3)));
    this.renewTimer.unref();
    this.schedulePoll();
    void this.kick();
  }

  /**
   * Looks for due destinations and starts a loop for each it can lease. Calls while a
   * pass runs coalesce into one more pass after it. Resolves when the pass (not the
   * loops it started) ends.
   */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.passing !== undefined) {
      this.passAgain = true;
      return this.passing;
    }
    this.passing = this.pass()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'federation sender could not look for work; the next poll tries again'))
      .finally(() => {
        this.passing = undefined;
        if (this.passAgain) {
          this.passAgain = false;
          void this.kick();
        }
      });
    return this.passing;
  }

  /** The destinations this replica is delivering to now (tests, diagnostics). */
  activeDestinations(): ServerName[] {
    return [...this.active.keys()];
  }

  /** Resolves when every delivery loop running now has ended. */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active.values()].map((loop) => loop.done));
  }

  /**
   * Stops looking for work, waits up to `STOP_WAIT_MS` for the transactions in flight,
   * and gives back the leases of the shards with none left. A transaction still in
   * flight then keeps its shard until the lease lapses: its rows are still queued, and
   * whoever takes the shard sends them again under the same transaction ID.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearInterval(this.renewTimer);
    await this.unsubscribe?.();
    await this.passing;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
    const busy = new Set([...this.active.values()].map((loop) => loop.shard));
    const shards = [...this.heldShards].filter((shard) => !busy.has(shard));
    this.heldShards.clear();
    await this.leaseOp(() => this.directory.releaseLeases(this.holder, shards)).catch((error: unknown) =>
      this.logger.warn({ err: error }, 'could not give the federation sender leases back; they lapse on their own'),
    );
  }

  private async pass(): Promise<void> {
    const room = this.maxConcurrent - this.active.size;
    if (room <= 0) return;
    const due = (await this.directory.due(this.now(), room * DUE_READ_FACTOR)).filter((d) => !this.active.has(d.destination));
    if (due.length === 0 || this.stopped) return;
    const wanted = [...new Set(due.map((d) => d.shard))].filter((shard) => !this.heldShards.has(shard));
    const taken = await this.leaseOp(() => this.directory.acquireLeases(this.holder, wanted, this.now(), this.leaseMs));
    for (const shard of taken) this.heldShards.add(shard);
    // No await from here on: the shards held are what the loops start under.
    for (const destination of due) {
      if (this.stopped || this.active.size >= this.maxConcurrent) break;
      if (this.heldShards.has(destination.shard) && !this.active.has(destination.destination)) this.startLoop(destination);
    }
    const unused = taken.filter((shard) => ![...this.active.values()].some((loop) => loop.shard === shard));
    for (const shard of unused) this.heldShards.delete(shard);
    if (unused.length > 0) await this.leaseOp(() => this.directory.releaseLeases(this.holder, unused));
  }

  private startLoop({ destination, shard }: DueDestination): void {
    const done = this.deliver(destination, shard).finally(() => {
      this.active.delete(destination);
      this.releaseIfUnused(shard);
    });
    this.active.set(destination, { shard, done });
  }

  /** Sends transactions to `destination` until its queues are empty, it fails, or the shard's lease is lost. */
  private async deliver(destination: ServerName, shard: number): Promise<void> {
    while (!this.stopped && this.heldShards.has(shard)) {
      let outcome: TransactionOutcome;
      try {
        outcome = await this.sendNext(destination);
      } catch (error) {
        // Not the destination's doing (the database): the next poll tries again.
        this.logger.warn({ err: error, destination }, 'federation sender could not deliver; retrying at the next poll');
        return;
      }
      if (outcome.kind === 'idle' || outcome.kind === 'failed') return;
    }
  }

  private releaseIfUnused(shard: number): void {
    if (!this.heldShards.has(shard) || [...this.active.values()].some((loop) => loop.shard === shard)) return;
    this.heldShards.delete(shard);
    void this.leaseOp(() => this.directory.releaseLeases(this.holder, [shard])).catch((error: unknown) =>
      this.logger.warn({ err: error, shard }, 'could not give a federation sender lease back; it lapses on its own'),
    );
  }

  /** Renews the leases of the shards with running loops; a shard another replica took is given up. */
  private async renew(): Promise<void> {
    const shards = [...this.heldShards];
    if (shards.length === 0 || this.stopped) return;
    try {
      const kept = new Set(await this.leaseOp(() => this.directory.acquireLeases(this.holder, shards, this.now(), this.leaseMs)));
      const lost = shards.filter((shard) => !kept.has(shard));
      for (const shard of lost) this.heldShards.delete(shard);
      if (lost.length > 0) this.logger.warn({ shards: lost }, 'federation sender leases were taken by another replica; their destinations are left to it');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not renew the federation sender leases; retrying');
    }
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      void this.kick().finally(() => this.schedulePoll());
    }, this.pollMs);
    this.pollTimer.unref();
  }

  /** Runs lease statements one at a time, in call order. */
  private leaseOp<T>(op: () => Promise<T>): Promise<T> {
    const result = this.leaseOps.then(op);
    this.leaseOps = result.catch(() => undefined);
    return result;
  }
}
