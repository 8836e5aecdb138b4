import { GroupCommit } from '@axon/platform-database';
import { isTransientFailure } from '../worker/failures';
import type { LogStore, PartitionAppend, TopicWrite } from './log-store';

/** Records per shared append (6 parameters each in its one statement: under Postgres's 65,535). */
const MAX_RECORDS_PER_TRANSACTION = 5000;

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
  private readonly group: GroupCommit<TopicWrite, void>;

  constructor(
    store: LogStore,
    /** Called after each commit with what it wrote, per topic and partition. */
    committed: (appended: ReadonlyMap<string, ReadonlyMap<number, PartitionAppend>>) => void,
  ) {
    this.group = new GroupCommit<TopicWrite, void>(
      async (writes: readonly TopicWrite[]) => {
        const appended = await store.append(writes, Date.now());
        // After the commit: a woken consumer must find the rows.
        committed(appended);
        return writes.map(() => undefined);
      },
      { maxWeight: MAX_RECORDS_PER_TRANSACTION, weight: (write) => write.records.length, retryAlone: (err) => !isTransientFailure(err) },
    );
  }

  /** Resolves once these records are committed. */
  append(write: TopicWrite): Promise<void> {
    return this.group.submit(write);
  }

  /** Resolves once no append is waiting or in flight. */
  drained(): Promise<void> {
    return this.group.drained();
  }
}
