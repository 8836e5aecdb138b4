import { isTransientFailure } from '../worker/transient';
import type { LogStore, PartitionAppend, TopicWrite } from './log-store';

/**
 * Records per shared transaction, at most: a queue that grew long (a burst of large
 * publishes) goes in several transactions instead of one huge one. A single append larger
 * than this still goes alone, whole.
 */
const MAX_RECORDS_PER_TRANSACTION = 5000;

interface PendingWrite extends TopicWrite {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group commit for the in-process log's appends (publishes and dead letters, of any
 * topics). An append starts its transaction at once if none is in flight; otherwise it
 * waits, and when the transaction in flight commits, every append that waited goes in
 * the next one together: one offset upsert and one multi-row insert for all of them. Under
 * many concurrent publishers that is one transaction where each would have run its own.
 *
 * Each caller resolves once the transaction holding its records committed, so `publish`
 * stays durable before it resolves; appends keep their order (a caller's records stay in
 * order, and an append made after another resolved gets higher offsets). If a shared
 * transaction fails for a reason of its own (not an outage), each of its appends is tried
 * again alone, so a publish that cannot be written (a key Postgres refuses) fails only its
 * own caller; an outage (isTransientFailure) fails them all at once, as each would alone.
 */
export class AppendQueue {
  private waiting: PendingWrite[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: LogStore,
    /** Called after each commit with what it wrote, per topic and partition. */
    private readonly committed: (appended: ReadonlyMap<string, ReadonlyMap<number, PartitionAppend>>) => void,
  ) {}

  append(write: TopicWrite): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ ...write, resolve, reject });
      this.running ??= this.run();
    });
  }

  /** Resolves once no append is waiting or in flight. */
  async drained(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    try {
      while (this.waiting.length > 0) await this.commit(this.nextGroup());
    } finally {
      this.running = undefined;
    }
  }

  /** The oldest waiting appends, up to MAX_RECORDS_PER_TRANSACTION records (at least one append). */
  private nextGroup(): PendingWrite[] {
    let records = this.waiting[0]!.records.length;
    let count = 1;
    while (count < this.waiting.length && records + this.waiting[count]!.records.length <= MAX_RECORDS_PER_TRANSACTION) {
      records += this.waiting[count]!.records.length;
      count++;
    }
    return this.waiting.splice(0, count);
  }

  private async commit(group: readonly PendingWrite[]): Promise<void> {
    let heads: Map<string, Map<number, PartitionAppend>>;
    try {
      heads = await this.store.append(group, Date.now());
    } catch (err) {
      if (group.length === 1 || isTransientFailure(err)) {
        for (const write of group) write.reject(err);
        return;
      }
      // Nothing of the group was written (one transaction): find whose append it was.
      for (const write of group) await this.commit([write]);
      return;
    }
    // After the commit: a woken consumer must find the rows.
    this.committed(heads);
    for (const write of group) write.resolve();
  }
}
