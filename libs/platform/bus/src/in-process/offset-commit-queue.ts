import { GroupCommit } from '@axon/platform-database';
import { isTransientFailure } from '../worker/failures';
import type { LogStore, OffsetCommit } from './log-store';

/** Partition offsets per shared statement (4 parameters each, as arrays: no limit but size). */
const MAX_OFFSETS_PER_STATEMENT = 5000;

/**
 * Group commit for the consumer groups' offset commits. Every subscription of the
 * in-process bus commits its low-water marks on a timer aligned to the commit interval
 * (InProcessSubscription.scheduleCommit), so the groups' commits of one interval arrive
 * together and go to the log in one or two statements instead of one each. The embedded
 * homeserver runs about a dozen groups that see a send (room server, sync, client-api's
 * wake-ups, the edu and account-data readers): unaligned and one statement each, their
 * commits were 0.1 of the 4.1 transactions per sequential send (bench:send, 1 sender).
 *
 * Each caller resolves once its offsets are committed; a shared statement that fails for
 * a reason of its own is retried per commit, so one bad commit fails only its caller.
 */
export class OffsetCommitQueue {
  private readonly group: GroupCommit<OffsetCommit, void>;

  constructor(store: Pick<LogStore, 'commitMany'>) {
    this.group = new GroupCommit<OffsetCommit, void>(
      async (commits) => {
        await store.commitMany(commits);
        return commits.map(() => undefined);
      },
      { maxWeight: MAX_OFFSETS_PER_STATEMENT, weight: (commit) => commit.offsets.size, retryAlone: (err) => !isTransientFailure(err) },
    );
  }

  /** Resolves once these offsets are committed. */
  commit(commit: OffsetCommit): Promise<void> {
    return this.group.submit(commit);
  }
}
