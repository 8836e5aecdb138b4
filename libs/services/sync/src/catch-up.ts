import type { MessageBus } from '@axon/platform-bus';
import type { StreamPositionsRepository } from './storage/stream-positions.repository';
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
 * `StreamPositionsRepository.heads`: a caller that comes while one runs gets the next),
 * so a burst of syncs costs about two reads, not one each.
 */
export class CatchUp {
  private running: Promise<Ends> | undefined;
  private following: Promise<Ends> | undefined;

  constructor(
    private readonly bus: Pick<MessageBus, 'endOffsets'>,
    private readonly positions: Pick<StreamPositionsRepository, 'heads'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves once everything published before the call is applied, or `MAX_CATCH_UP_MS` passed. */
  async wait(): Promise<void> {
    const deadline = this.now() + MAX_CATCH_UP_MS;
    const ends = await this.ends();
    while (!caughtUp(await this.positions.heads(), ends) && this.now() < deadline) await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
  }

  private ends(): Promise<Ends> {
    if (this.running === undefined) return this.start();
    this.following ??= this.running.then(
      () => this.startFollowing(),
      () => this.startFollowing(),
    );
    return this.following;
  }

  private startFollowing(): Promise<Ends> {
    this.following = undefined;
    return this.start();
  }

  private start(): Promise<Ends> {
    const read = Promise.all(SYNC_STREAMS.map(([, topic]) => this.bus.endOffsets(topic)));
    this.running = read;
    const done = (): void => {
      if (this.running === read) this.running = undefined;
    };
    read.then(done, done);
    return read;
  }
}

/** Whether every partition of every stream is applied up to the message before its end offset. */
function caughtUp(heads: SyncToken, ends: Ends): boolean {
  return SYNC_STREAMS.every(([name], stream) => ends[stream]!.every((end, partition) => BigInt(heads[name][partition] ?? -1) >= end - 1n));
}
