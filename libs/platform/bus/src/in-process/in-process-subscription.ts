import type { Topic } from '@axon/contracts-kafka';
import type { MessageHeaders, Subscription } from '../bus';
import type { BusMetrics } from '../bus-metrics';
import { errorFields, type BusLogger } from '../logger';
import { notifyObserver, type ResolvedSubscribeOptions } from '../options';
import { handlersOf, type WorkerHandlers } from '../worker/batch';
import { ConsumerLag } from '../worker/consumer-lag';
import { PartitionWorker } from '../worker/partition-worker';
import type { RawMessage } from '../worker/raw-message';
import type { GroupCoordinator, GroupMember } from './group-coordinator';
import type { LogStore } from './log-store';
import type { PublishNotifier } from './notifier';
import type { OffsetCommitQueue } from './offset-commit-queue';

export type InProcessSubscriptionDeps<T> = InProcessSubscriptionBase<T> & WorkerHandlers<T>;

interface InProcessSubscriptionBase<T> {
  readonly store: LogStore;
  /** Where the low-water marks are committed (shared by every subscription of the bus). */
  readonly commits: Pick<OffsetCommitQueue, 'commit'>;
  readonly notifier: PublishNotifier;
  readonly coordinator: GroupCoordinator;
  readonly topic: Topic<T>;
  readonly groupId: string;
  readonly options: ResolvedSubscribeOptions;
  readonly logger: BusLogger;
  readonly pollIntervalMs: number;
  readonly fetchBatchSize: number;
  readonly deadLetter: (topic: Topic<T>, message: RawMessage, headers: MessageHeaders) => Promise<void>;
  readonly onStopped: (subscription: InProcessSubscription<T>) => void;
  readonly metrics?: BusMetrics | undefined;
}

/** One owned partition: where to fetch next, and the worker handling what was fetched. */
interface Feed<T> {
  readonly partition: number;
  readonly worker: PartitionWorker<T>;
  /** Unknown until the committed offset is loaded. */
  nextFetch: bigint | undefined;
  loading: boolean;
  active: boolean;
  fetching: boolean;
  fetchAgain: boolean;
  /** Fetching stopped because the worker wanted no more (buffer full, a retry waiting): its flow change resumes it. */
  stalled: boolean;
  /**
   * Everything appended to the partition was fetched or delivered as of the last fetch or
   * notification: the fallback poll passes it by. False until the first fetch reaches the
   * end, and again after a failed or stalled fetch.
   */
  caughtUp: boolean;
}

/**
 * A member of an in-process consumer group. For each partition it owns it fetches rows
 * from the log into a PartitionWorker (same worker, same semantics as on Kafka), woken by
 * the publish notifier, by its worker wanting more, and by a fallback poll (of partitions
 * not known to be caught up: after a failed or stalled fetch, or before the first). Commits are
 * the workers' low-water marks, batched every `commitIntervalMs`, and always written
 * before a partition is handed to another member.
 */
export class InProcessSubscription<T> implements Subscription, GroupMember {
  readonly topic: string;
  readonly groupId: string;
  private readonly feeds = new Map<number, Feed<T>>();
  private readonly committed = new Map<number, bigint>();
  private unlisten: (() => void) | undefined;
  private poller: NodeJS.Timeout | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private commitChain: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  /** Set by `halt()`: the bus lost its lock, so nothing starts or commits any more. */
  private halted = false;
  /**
   * Lag per owned partition. The log is this process's alone, so its heads are known
   * exactly: loaded when a partition is assigned, then from every publish's notification
   * (and from fetches that reached the end).
   */
  private readonly lag: ConsumerLag;

  constructor(private readonly deps: InProcessSubscriptionDeps<T>) {
    this.topic = deps.topic.name;
    this.groupId = deps.groupId;
    this.lag = new ConsumerLag(deps.metrics, this.topic, this.groupId);
  }

  async start(): Promise<void> {
    this.unlisten = this.deps.notifier.listen(this.topic, (appended) => {
      for (const [p, { head, messages }] of appended) {
        const feed = this.feeds.get(p);
        if (!feed) continue;
        this.lag.head(p, head);
        if (!this.deliverCommitted(feed, messages)) void this.fetch(feed);
        this.reportLag(feed);
      }
    });
    // Every append of the log goes through this process's notifier (the log is its alone),
    // so a partition that was caught up stays so until a notification says otherwise: the
    // poll only retries what a failed or stalled fetch left. Polling every partition kept an
    // idle embedded server running about 100 queries every 5 s (76 partitions, several
    // groups), whose garbage kept V8's memory reducer from ever seeing the process idle:
    // after a load the heap's freed pages (80 MB and more) stayed resident until the next
    // load.
    this.poller = setInterval(() => {
      for (const feed of this.feeds.values()) if (!feed.caughtUp) void this.fetch(feed);
    }, this.deps.pollIntervalMs);
    this.poller.unref();
    await this.deps.coordinator.join(this.groupId, this.topic, this.deps.topic.partitions, this);
  }

  assignment(): readonly number[] {
    return [...this.feeds.values()].filter((f) => f.active).map((f) => f.partition).sort((a, b) => a - b);
  }

  stop(): Promise<void> {
    this.stopping ??= this.leave();
    return this.stopping;
  }

  /**
   * Stops at once, before our turn in the group: no more fetching, and the workers stop
   * gracefully (only the gaps below what already started still run), so nothing new starts
   * while the coordinator works through the group's queue. `assign` ignores a stopping
   * member. Then the coordinator revokes (drains and commits) every partition we own, and
   * hands them over; members leaving together are revoked in one rebalance.
   */
  private async leave(): Promise<void> {
    this.unlisten?.();
    clearInterval(this.poller);
    for (const feed of this.feeds.values()) {
      feed.active = false;
      feed.worker.stop({ fillGaps: true });
    }
    try {
      await this.deps.coordinator.leave(this.groupId, this.topic, this);
    } finally {
      this.unlisten?.();
      clearInterval(this.poller);
      clearTimeout(this.commitTimer);
      this.lag.forgetAll();
      this.deps.onStopped(this);
    }
  }

  /**
   * The bus lost its lock on the database (another process may own the log now): stop
   * hard. Nothing new starts (not even the gaps), nothing is fetched or committed any more;
   * handlers already running finish. `stop()` still leaves the group afterwards.
   */
  halt(): void {
    if (this.halted) return;
    this.halted = true;
    this.unlisten?.();
    clearInterval(this.poller);
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    for (const feed of this.feeds.values()) {
      feed.active = false;
      feed.worker.stop({ fillGaps: false });
    }
    this.lag.forgetAll();
  }

  assign(partitions: readonly number[]): void {
    // A stopping (or halted) member takes nothing on; the coordinator revokes its share when it leaves.
    if (this.stopping || this.halted) return;
    const added: Feed<T>[] = [];
    for (const partition of partitions) {
      const feed: Feed<T> = {
        partition,
        worker: this.newWorker(partition),
        nextFetch: undefined,
        loading: false,
        active: true,
        fetching: false,
        stalled: false,
        fetchAgain: false,
        caughtUp: false,
      };
      this.feeds.set(partition, feed);
      added.push(feed);
    }
    this.notifyAssigned();
    void this.startFeeds(added);
  }

  async revoke(partitions: readonly number[]): Promise<void> {
    const feeds = partitions.flatMap((p) => this.feeds.get(p) ?? []);
    // Graceful (gap filling): the coordinator hands the partitions over only after this
    // drained and committed, so the gaps handled here are committed, never run twice at
    // once. A drain that times out ends the gap filling (PartitionWorker.drain).
    for (const feed of feeds) {
      feed.active = false;
      feed.worker.stop({ fillGaps: true });
    }
    const drained = await Promise.all(feeds.map((f) => f.worker.drain(this.deps.options.drainTimeoutMs)));
    if (drained.includes(false)) {
      this.deps.logger.log('warn', 'bus: handlers still running after the drain timeout; their messages will be delivered again', {
        topic: this.topic,
        groupId: this.groupId,
      });
    }
    await this.commitNow();
    for (const feed of feeds) {
      this.feeds.delete(feed.partition);
      this.committed.delete(feed.partition);
      this.lag.forget(feed.partition);
    }
    this.notifyAssigned();
  }

  private notifyAssigned(): void {
    const assigned = this.assignment();
    notifyObserver(this.deps.logger, 'assigned', () => this.deps.options.observer.assigned?.(assigned));
  }

  /** Loads where each new partition resumes: its committed offset, else the start or the end of the log. */
  private async startFeeds(feeds: readonly Feed<T>[]): Promise<void> {
    for (const feed of feeds) feed.loading = true;
    try {
      const committed = await this.deps.store.committedOffsets(this.groupId, this.topic);
      const heads = this.deps.options.startFrom === 'latest' || this.lag.enabled ? await this.deps.store.headOffsets(this.topic) : undefined;
      const latest = this.deps.options.startFrom === 'latest' ? heads : undefined;
      const initial = new Map<number, bigint>();
      for (const feed of feeds) {
        feed.loading = false;
        const from = committed.get(feed.partition);
        if (from !== undefined) {
          feed.nextFetch = from;
          this.committed.set(feed.partition, from);
        } else if (latest) {
          feed.nextFetch = latest.get(feed.partition) ?? 0n;
          initial.set(feed.partition, feed.nextFetch);
        } else {
          feed.nextFetch = 0n;
        }
        if (heads) {
          this.lag.head(feed.partition, heads.get(feed.partition) ?? 0n);
          this.reportLag(feed);
        }
      }
      // `latest` is pinned at once, so a restart before the first commit does not skip ahead.
      if (initial.size > 0) await this.deps.store.commit(this.groupId, this.topic, initial);
      for (const [partition, offset] of initial) this.committed.set(partition, offset);
    } catch (err) {
      // The poll retries: feeds without a start offset load it on their next fetch.
      for (const feed of feeds) feed.loading = false;
      this.deps.logger.log('error', 'bus: could not load committed offsets', { topic: this.topic, groupId: this.groupId, ...errorFields(err) });
      return;
    }
    for (const feed of feeds) void this.fetch(feed);
  }

  /**
   * Fetches into the worker until the log is exhausted or the worker is full. One fetch
   * loop per partition; a wake-up during a fetch makes the loop go round once more, so a
   * publish that committed while the query ran is not missed.
   */
  private async fetch(feed: Feed<T>): Promise<void> {
    if (feed.fetching) {
      feed.fetchAgain = true;
      return;
    }
    if (feed.nextFetch === undefined) {
      if (feed.active && !feed.loading) void this.startFeeds([feed]);
      return;
    }
    feed.fetching = true;
    feed.caughtUp = false;
    try {
      do {
        feed.fetchAgain = false;
        while (feed.active) {
          if (!feed.worker.wantsMore()) {
            feed.stalled = true;
            break;
          }
          const room = this.deps.options.maxBufferedPerPartition - feed.worker.pending;
          const limit = Math.max(1, Math.min(room, this.deps.fetchBatchSize));
          const rows = await this.deps.store.fetch(this.topic, feed.partition, feed.nextFetch, limit);
          if (!feed.active) break;
          if (rows.length === 0) {
            this.lag.head(feed.partition, feed.nextFetch);
            feed.caughtUp = true;
            break;
          }
          feed.worker.enqueue(rows);
          feed.nextFetch = rows[rows.length - 1]!.offset + 1n;
          this.lag.head(feed.partition, feed.nextFetch);
          if (rows.length < limit) {
            feed.caughtUp = true;
            break;
          }
        }
        // A notification during the query may have appended more: go round, not caught up yet.
        if (feed.fetchAgain) feed.caughtUp = false;
      } while (feed.fetchAgain && feed.active);
    } catch (err) {
      this.deps.logger.log('error', 'bus: fetch from the in-process log failed; the poll retries', {
        topic: this.topic,
        partition: feed.partition,
        ...errorFields(err),
      });
    } finally {
      feed.fetching = false;
    }
  }

  /**
   * Hands a just-committed publish's messages to the worker without reading them back,
   * when they follow on exactly from where this partition is (no fetch in flight that
   * could deliver them too, nothing skipped before them) and the buffer has room; false
   * when the partition must fetch instead.
   */
  private deliverCommitted(feed: Feed<T>, messages: readonly RawMessage[]): boolean {
    const first = messages[0];
    if (first === undefined || !feed.active || feed.fetching || feed.nextFetch !== first.offset) return false;
    if (!feed.worker.wantsMore() || feed.worker.pending + messages.length > this.deps.options.maxBufferedPerPartition) return false;
    feed.worker.enqueue(messages);
    feed.nextFetch = messages[messages.length - 1]!.offset + 1n;
    return true;
  }

  private newWorker(partition: number): PartitionWorker<T> {
    const { deps } = this;
    return new PartitionWorker<T>({
      topic: deps.topic,
      groupId: deps.groupId,
      partition,
      system: 'axon-in-process',
      ...handlersOf(deps),
      options: deps.options,
      logger: deps.logger,
      deadLetter: (message, headers) => deps.deadLetter(deps.topic, message, headers),
      progressed: () => {
        const feed = this.feeds.get(partition);
        if (feed) this.reportLag(feed);
        this.scheduleCommit();
      },
      // Only a fetch the worker stopped resumes here: when nothing stalled, every committed
      // message was delivered or is being fetched already, and a fetch per finished
      // message would find nothing (two wasted queries per send, measured).
      flowChanged: () => {
        const feed = this.feeds.get(partition);
        if (feed?.active && feed.stalled && feed.worker.wantsMore()) {
          feed.stalled = false;
          void this.fetch(feed);
        }
      },
    });
  }

  /** The partition's lag now: its head minus the lowest offset not finished (before any message, where fetching resumes). */
  private reportLag(feed: Feed<T>): void {
    if (feed.active) this.lag.update(feed.partition, feed.worker.lowWaterMark() ?? feed.nextFetch);
  }

  /**
   * Commits at the next multiple of the commit interval on the clock (at most one interval
   * away, as before): every subscription's timer for the same interval fires together, so
   * the OffsetCommitQueue writes their commits in one statement.
   */
  private scheduleCommit(): void {
    if (this.commitTimer || this.halted) return;
    const interval = this.deps.options.commitIntervalMs;
    const delay = interval > 0 ? interval - (Date.now() % interval) : 0;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.commitNow();
    }, delay);
  }

  /** Serial commits; a failure is logged and retried by the next one (the messages stay uncommitted meanwhile). */
  private commitNow(): Promise<void> {
    // A commit that throws (it should not) must not reject every later one.
    this.commitChain = this.commitChain.then(() => this.commitLowWaterMarks()).catch((err: unknown) => {
      this.deps.logger.log('error', 'bus: in-process offset commit failed unexpectedly', { topic: this.topic, groupId: this.groupId, ...errorFields(err) });
    });
    return this.commitChain;
  }

  private async commitLowWaterMarks(): Promise<void> {
    if (this.halted) return;
    const marks = new Map<number, bigint>();
    for (const feed of this.feeds.values()) {
      const mark = feed.worker.lowWaterMark();
      if (mark === undefined) continue;
      const last = this.committed.get(feed.partition);
      if (last !== undefined && mark <= last) continue;
      marks.set(feed.partition, mark);
    }
    if (marks.size === 0) return;
    try {
      await this.deps.commits.commit({ groupId: this.groupId, topic: this.topic, offsets: marks });
    } catch (err) {
      this.deps.logger.log('error', 'bus: offset commit to the in-process log failed', { topic: this.topic, groupId: this.groupId, ...errorFields(err) });
      if (!this.stopping) this.scheduleCommit();
      return;
    }
    for (const [partition, mark] of marks) {
      this.committed.set(partition, mark);
      notifyObserver(this.deps.logger, 'committed', () => this.deps.options.observer.committed?.(partition, mark.toString()));
    }
  }
}
