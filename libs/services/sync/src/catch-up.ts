import type { MessageBus } from '@axon/platform-bus';
import { NextRead } from './next-read';
import type { StreamPositionsRepository } from './storage/stream-positions.repository';
import type { SyncMetrics } from './sync.metrics';
import { SYNC_STREAMS, type SyncToken } from './sync-token';

/** The longest a `/sync` waits for the read model to catch up before it answers with what it has. */
export const MAX_CATCH_UP_MS = 1_000;
/** How often the applied heads are read again while waiting. */
const RECHECK_MS = 2;

type Ends = ReadonlyArray<readonly bigint[]>;

/**
 * Read-your-writes for `/sync`. A write is answered 200 once its message is on the bus
 * (room events: the room server publishes its outputs before it reports the outcome;
 * account data, receipts, typing, presence, to-device and device lists: client-api
 * publishes before it answers), but the sync read model applies the bus asynchronously.
 * So a sync first reads where every stream it serves ends on the bus, then waits until
 * the read model has applied every partition up to there: whatever was acknowledged to
 * any client before the sync arrived is in it. Bounded (`MAX_CATCH_UP_MS`): a lagging or
 * stuck consumer delays syncs, never stops them; the answer is then as of the heads.
 *
 * The end offsets are read once for all the syncs that arrive while a read runs (as
 * `StreamPositionsRepository.heads`, through `NextRead`: a caller that comes while one runs gets the next),
 * so a burst of syncs costs about two reads, not one each.
 */
export class CatchUp {
  private readonly ends = new NextRead<Ends>(() => Promise.all(SYNC_STREAMS.map(([, topic]) => this.bus.endOffsets(topic))));

  constructor(
    private readonly bus: Pick<MessageBus, 'endOffsets'>,
    private readonly positions: Pick<StreamPositionsRepository, 'heads'>,
    private readonly metrics?: Pick<SyncMetrics, 'catchUpWait' | 'catchUpTimeouts'>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Resolves once everything published before the call is applied, or `MAX_CATCH_UP_MS`
   * passed. Never rejects: a bus whose end offsets cannot be read (a broker outage) only
   * costs the wait, the sync then answers as of the heads (counted as cause `bus`).
   */
  async wait(): Promise<void> {
    const started = this.now();
    const deadline = started + MAX_CATCH_UP_MS;
    let timedOut: 'lag' | 'bus' | undefined;
    const ends = await beforeDeadline(this.ends.get(), MAX_CATCH_UP_MS).catch(() => undefined);
    if (ends === undefined) timedOut = 'bus';
    while (ends !== undefined && !caughtUp(await this.positions.heads(), ends)) {
      if (this.now() >= deadline) {
        timedOut = 'lag';
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
    }
    if (timedOut !== undefined) this.metrics?.catchUpTimeouts.inc({ cause: timedOut });
    this.metrics?.catchUpWait.observe(Math.max(0, this.now() - started) / 1000);
  }
}

/** Whether every partition of every stream is applied up to the message before its end offset. */
function caughtUp(heads: SyncToken, ends: Ends): boolean {
  return SYNC_STREAMS.every(([name], stream) => ends[stream]!.every((end, partition) => BigInt(heads[name][partition] ?? -1) >= end - 1n));
}

/** `promise`'s value, or undefined if it has not settled within `ms` (a rejection is passed on). */
function beforeDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
