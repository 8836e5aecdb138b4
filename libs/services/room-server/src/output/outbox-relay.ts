import { randomUUID } from 'node:crypto';
import { roomOutputTopic, type RoomOutput } from '@axon/contracts-kafka';
import type { MessageBus } from '@axon/platform-bus';
import type { Unsubscribe, Wakeups } from '@axon/platform-cache';
import type { RoomStorage } from '../storage/room-storage';

/** The relay's logger shape (pino's fits). */
export interface RelayLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

const BATCH = 200;
/**
 * A crashed relay's leases block their shards this long (every drain releases its leases
 * when it ends, so only the shards it was publishing at the crash: normally its own rooms,
 * which wait for the consumer group's session timeout to move to another replica anyway).
 */
const LEASE_MS = 5_000;
const IDLE_POLL_MS = 1_000;
/**
 * After the idle poll, a relay that deleted at least this many outbox rows since its last
 * vacuum vacuums the outbox. Every peek walks its shard's index range from the start,
 * dead entries included; under concurrent load Postgres seldom marks them dead in passing
 * and autovacuum wakes once a minute, so on a busy room the walk grew by one entry per
 * event, to thousands per peek within a minute. About once a second keeps it short.
 * (Not on embedded PGlite: its one connection marks dead entries as it scans them.)
 */
const VACUUM_AFTER_ROWS = 256;
/**
 * Wake-up channel of the relays. A replica whose commit finds a shard's lease held by
 * another relay (publishing it right now) asks for that shard to be published again, so
 * its rows do not wait for an idle poll (up to a second for every event of those rooms).
 * Payload: `{"from": holder, "shards": [..]}`.
 */
export const OUTBOX_CHANNEL = 'room-outbox';

/**
 * Publishes the outbox to `hs.room.output.v1` in the order it was written, then deletes
 * what was published. The outbox is split in shards (`outboxShard`: the room's input
 * partition). A relay publishes a shard only under that shard's lease, so one relay at a
 * time publishes a room's outputs, in order; it takes the leases a drain needs and gives
 * them back when the drain ends. After a commit it drains only the shards it wrote to,
 * so a replica killed mid-drain blocks its own rooms, not every room. A crash between
 * publishing and deleting publishes a batch twice, which consumers absorb (they are
 * idempotent by event ID and room sequence). Never publishes inside a database
 * transaction: the embedded bus itself writes to the database.
 */
export class OutboxRelay {
  private readonly holder = randomUUID();
  private running: Promise<void> | undefined;
  /** What was asked for while a drain was running; the next drain does it. */
  private queued: DrainRequest | undefined;
  /** Resolves when the drain of `queued` ends (what a queued caller awaits). */
  private queuedDone: Promise<void> | undefined;
  /** The drain started for the last `queued` request, once it started. */
  private queuedDrain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private unsubscribe: Unsubscribe | undefined;
  private deletedSinceVacuum = 0;
  private vacuuming: Promise<void> | undefined;

  constructor(
    private readonly storage: RoomStorage,
    private readonly bus: MessageBus,
    private readonly logger: RelayLogger,
    /** Cross-replica wake-ups (Redis in distributed mode); without them, the idle poll only. */
    private readonly wakeups?: Wakeups,
    /** `vacuumAfterRows`: `false` never vacuums (default `VACUUM_AFTER_ROWS`). */
    private readonly options: { readonly idlePollMs?: number; readonly vacuumAfterRows?: number | false } = {},
  ) {}

  /** Starts polling (for rows nobody drains: left by a crashed replica, or before this start) and listening for nudges. */
  async start(): Promise<void> {
    this.unsubscribe = await this.wakeups?.subscribe(OUTBOX_CHANNEL, (payload) => {
      const nudge = parseNudge(payload);
      // A nudge never nudges back.
      if (nudge !== undefined && nudge.from !== this.holder) void this.run({ shards: new Set(nudge.shards), nudge: false });
    });
    this.schedule();
  }

  /**
   * Publishes the rows of `shards` (after a commit that wrote to them). A shard another
   * relay is publishing is asked to be published again by whoever holds it then. Concurrent
   * calls coalesce; resolves when a drain that read the outbox after the call ends (the
   * rows are then on the bus, unless another relay held their shard's lease: it publishes
   * them when its round ends).
   */
  kick(shards: readonly number[]): Promise<void> {
    return this.run({ shards: new Set(shards), nudge: true });
  }

  /** Publishes the rows of every shard no other relay is publishing (the idle poll, and at start). */
  poll(): Promise<void> {
    return this.run({ shards: 'all', nudge: false });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.unsubscribe?.();
    await this.running;
    await this.vacuuming;
  }

  private run(request: DrainRequest): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running !== undefined) {
      // The running drain may have read its rows before the caller's were committed: the
      // caller is answered when the next drain, which reads after, ends.
      this.queued = this.queued === undefined ? request : mergeRequests(this.queued, request);
      this.queuedDone ??= this.running.then(() => this.queuedDrain);
      return this.queuedDone;
    }
    this.running = this.drain(request).finally(() => {
      this.running = undefined;
      const next = this.queued;
      this.queued = undefined;
      this.queuedDone = undefined;
      this.queuedDrain = next !== undefined && !this.stopped ? this.run(next) : Promise.resolve();
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.poll()
        .then(() => this.vacuumIfChurned())
        .finally(() => this.schedule());
    }, this.options.idlePollMs ?? IDLE_POLL_MS);
    this.timer.unref();
  }

  /**
   * Publishes the rows of the shards asked for, under their leases. Each round is one
   * statement to take the leases and read the rows (`OutboxRepository.claim`), the
   * publish, and one to delete them; the last round's delete also gives the leases back.
   */
  private async drain(request: DrainRequest): Promise<void> {
    const { outbox, db } = this.storage;
    let leased = false;
    let released = false;
    try {
      let nudged = !request.nudge;
      const { shards } = request;
      while (!this.stopped) {
        // A kick names its shards (rows were just written there); only the poll looks.
        const wanted = shards === 'all' ? await outbox.pendingShards(db) : [...shards].sort((a, b) => a - b);
        if (wanted.length === 0) return;
        const { held, rows } = await outbox.claim(db, this.holder, wanted, Date.now(), LEASE_MS, BATCH);
        leased ||= held.length > 0;
        const elsewhere = wanted.filter((shard) => !held.includes(shard));
        if (!nudged && elsewhere.length > 0) {
          nudged = true;
          await this.wakeups?.publish(OUTBOX_CHANNEL, JSON.stringify({ from: this.holder, shards: elsewhere }));
        }
        if (rows.length === 0) return;
        // Each output continues the trace of the input that wrote it (its row's trace
        // context), not whatever context kicked this relay.
        await this.bus.publish(
          roomOutputTopic,
          rows.map((row) => JSON.parse(row.payload) as RoomOutput),
          { traceContexts: rows.map((row) => row.traceContext) },
        );
        // A short batch was everything: rows committed since come with their own kick
        // (queued behind this drain), a nudge or the idle poll, so no query to find none.
        const last = rows.length < BATCH;
        await outbox.delete(
          db,
          rows.map((row) => row.id),
          last ? { holder: this.holder } : undefined,
        );
        released = last;
        this.deletedSinceVacuum += rows.length;
        if (last) return;
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'outbox relay failed; retrying');
    } finally {
      if (leased && !released) await this.release();
    }
  }

  /** Vacuums the outbox once this relay deleted `VACUUM_AFTER_ROWS` rows since it last did. */
  private async vacuumIfChurned(): Promise<void> {
    const after = this.options.vacuumAfterRows ?? VACUUM_AFTER_ROWS;
    if (this.stopped || after === false || this.deletedSinceVacuum < after) return;
    this.deletedSinceVacuum = 0;
    // Never rejects: `stop()` awaits it.
    this.vacuuming = this.storage.outbox.vacuum(this.storage.db).catch((error: unknown) => this.logger.warn({ err: error }, 'could not vacuum the outbox; autovacuum will'));
    await this.vacuuming;
    this.vacuuming = undefined;
  }

  /** Gives this relay's leases back, so the next drain (here or on another replica) need not wait for them to expire. */
  private async release(): Promise<void> {
    try {
      await this.storage.outbox.releaseLeases(this.storage.db, this.holder);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not release the outbox relay leases; they expire on their own');
    }
  }
}

/** One drain: the shards to publish (`all`: every shard with rows), and whether to ask other relays for those it cannot take. */
interface DrainRequest {
  readonly shards: ReadonlySet<number> | 'all';
  readonly nudge: boolean;
}

function mergeRequests(a: DrainRequest, b: DrainRequest): DrainRequest {
  const shards = a.shards === 'all' || b.shards === 'all' ? 'all' : new Set([...a.shards, ...b.shards]);
  return { shards, nudge: a.nudge || b.nudge };
}

function parseNudge(payload: string): { from: string; shards: number[] } | undefined {
  try {
    const value = JSON.parse(payload) as { from?: unknown; shards?: unknown };
    if (typeof value.from !== 'string' || !Array.isArray(value.shards)) return undefined;
    return { from: value.from, shards: value.shards.filter((shard): shard is number => Number.isInteger(shard)) };
  } catch {
    return undefined;
  }
}
