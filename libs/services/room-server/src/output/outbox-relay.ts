import { randomUUID } from 'node:crypto';
import { roomOutputTopic, type RoomOutput } from '@axon/contracts-kafka';
import type { MessageBus } from '@axon/platform-bus';
import type { Unsubscribe, Wakeups } from '@axon/platform-cache';
import type { RoomStore } from '../storage/room-store';

/** The relay's logger shape (pino's fits). */
export interface RelayLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

const BATCH = 200;
/**
 * A crashed relay's leases block its shards this long (a stopped relay releases them).
 * Only its own shards: the rooms of the partitions it wrote, which wait for the consumer
 * group's session timeout to move to another replica anyway.
 */
const LEASE_MS = 5_000;
const IDLE_POLL_MS = 1_000;
/**
 * Wake-up channel of the relays: a replica whose commit finds a shard's lease held by
 * another replica asks the holders to drain now, instead of leaving its rows for the
 * holder's next idle poll (up to a second of latency for every event of those rooms).
 */
export const OUTBOX_CHANNEL = 'room-outbox';

/**
 * Publishes the outbox to `hs.room.output.v1` in the order it was written, then deletes
 * what was published. The outbox is split in shards (`outboxShard`: the room's input
 * partition); one relay at a time holds each shard's lease, so each room's outputs keep
 * their order, and a relay takes the leases of the shards it finds rows in, which are
 * normally the rooms its own replica writes. A crash between publishing and deleting
 * publishes a batch twice, which consumers absorb (they are idempotent by event ID and
 * room sequence). Never publishes inside a database transaction: the embedded bus itself
 * writes to the database.
 */
export class OutboxRelay {
  private readonly holder = randomUUID();
  private running: Promise<void> | undefined;
  private again = false;
  private nudgeAgain = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private unsubscribe: Unsubscribe | undefined;

  constructor(
    private readonly store: RoomStore,
    private readonly bus: MessageBus,
    private readonly logger: RelayLogger,
    /** Cross-replica wake-ups (Redis in distributed mode); without them, the idle poll only. */
    private readonly wakeups?: Wakeups,
    private readonly options: { readonly idlePollMs?: number } = {},
  ) {}

  /** Starts polling (for outputs another instance wrote, or after a lost lease) and listening for nudges. */
  async start(): Promise<void> {
    this.unsubscribe = await this.wakeups?.subscribe(OUTBOX_CHANNEL, (from) => {
      // Another replica's rows wait for the lease holder; a nudge never nudges back.
      if (from !== this.holder) void this.kick({ nudge: false });
    });
    this.schedule();
  }

  /**
   * Publishes now (after a commit); concurrent kicks coalesce. Resolves when drained.
   * When another replica holds the lease, `nudge` (the default) asks it to drain.
   */
  kick(options: { nudge?: boolean } = {}): Promise<void> {
    const nudge = options.nudge ?? true;
    if (this.stopped) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      this.nudgeAgain ||= nudge;
      return this.running;
    }
    this.running = this.drain(nudge).finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        const next = this.nudgeAgain;
        this.again = false;
        this.nudgeAgain = false;
        void this.kick({ nudge: next });
      }
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.unsubscribe?.();
    await this.running;
    try {
      await this.store.releaseRelayLease(this.holder);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not release the outbox relay lease; the next relay waits for it to expire');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.kick({ nudge: false }).finally(() => this.schedule());
    }, this.options.idlePollMs ?? IDLE_POLL_MS);
    this.timer.unref();
  }

  private async drain(nudge: boolean): Promise<void> {
    try {
      let nudged = false;
      while (!this.stopped) {
        const pending = await this.store.pendingOutboxShards();
        if (pending.length === 0) return;
        const held = await this.store.acquireRelayLeases(this.holder, pending, Date.now(), LEASE_MS);
        if (held.length < pending.length && nudge && !nudged) {
          // Some shards are another relay's: ask it to drain them now (once per drain).
          nudged = true;
          await this.wakeups?.publish(OUTBOX_CHANNEL, this.holder);
        }
        if (held.length === 0) return;
        const rows = await this.store.peekOutbox(BATCH, held);
        if (rows.length === 0) return;
        // Each output continues the trace of the input that wrote it (its row's trace
        // context), not whatever context kicked this relay.
        await this.bus.publish(
          roomOutputTopic,
          rows.map((row) => JSON.parse(row.payload) as RoomOutput),
          { traceContexts: rows.map((row) => row.traceContext) },
        );
        await this.store.deleteOutbox(rows.map((row) => row.id));
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'outbox relay failed; retrying');
    }
  }
}
