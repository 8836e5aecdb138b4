import type { Topic } from '@axon/contracts-kafka';
import type { MessageHeaders } from '../bus';
import { errorFields, type BusLogger } from '../logger';
import { backoffDelay, notifyObserver, type ResolvedSubscribeOptions } from '../options';
import { batchHandlerOf, runBatch, takeBatch, type BatchRunner, type Entry, type Taken, type WorkerHandlers } from './batch';
import { giveUp } from './give-up';
import { runAttempt, type DeliveryTarget } from './deliver';
import { KeyQueue } from './key-queue';
import { OffsetTracker } from './offset-tracker';
import type { RawMessage } from './raw-message';

/** What a partition worker needs from the subscription that owns it, with its handler (`WorkerHandlers`). */
export type PartitionWorkerHost<T> = PartitionWorkerOwner<T> & WorkerHandlers<T>;

export interface PartitionWorkerOwner<T> {
  readonly topic: Topic<T>;
  readonly groupId: string;
  readonly partition: number;
  readonly system: string;
  readonly options: ResolvedSubscribeOptions;
  readonly logger: BusLogger;
  /** Durably appends the message to `<topic>.dlq` (same key and bytes, these headers). */
  deadLetter(message: RawMessage, headers: MessageHeaders): Promise<void>;
  /** The low-water mark moved: a commit is due. */
  progressed(): void;
  /** `wantsMore()` may have changed: pause or resume fetching. */
  flowChanged(): void;
  /**
   * The worker this one replaces on the same partition, stopped hard (the partition was
   * lost and came back, e.g. a Kafka consumer restart) and possibly still running
   * handlers. This worker starts nothing until it drained (up to `drainTimeoutMs`), and
   * after that never starts a key it still runs, so one key never runs twice at once here.
   */
  readonly predecessor?: PartitionWorker<T> | undefined;
}

type Wait = { timer: NodeJS.Timeout; resolve: (completed: boolean) => void };

/** How a worker stops; see `PartitionWorker.stop`. */
export interface StopMode {
  /**
   * `true`, a graceful stop (the owner commits afterwards and still owns the partition
   * until then): the queued messages below the highest offset already started still run.
   * `false`, a hard stop (the partition is lost, nothing of ours can be committed any
   * more): nothing new starts at all.
   */
  readonly fillGaps: boolean;
}

/**
 * Runs the handler over one partition's messages.
 *
 * Ordering: messages of one key run strictly one after the other, in offset order
 * (KeyQueue); messages of different keys run concurrently, up to `concurrency` at once,
 * so a slow key does not hold up the others of its partition.
 *
 * Batches (`subscribeBatches`, batch.ts): a slot runs a batch of messages instead of one,
 * every queued message of the keys it takes (up to `maxBatch`), all those keys busy until
 * it ends. A batch that fails for another reason than an outage is split, and each of its
 * messages runs alone under the rules below. `subscribe` runs batches of one.
 *
 * Retries: a message whose handler asks for a retry (or throws) keeps its key's slot and
 * waits out its backoff; meanwhile the partition starts nothing new (`wantsMore()` is
 * false, so the owner also pauses fetching). A transient failure is usually shared
 * (database down, remote server down), and a paused partition stops the retry storm;
 * messages already running finish normally. After `maxAttempts`, or at once on
 * `deadLetter(reason)` or an undecodable payload, the message goes to `<topic>.dlq` and
 * counts as finished: a poison message costs its retries, never the partition.
 *
 * Commits: only the low-water mark (OffsetTracker) is ever offered for commit.
 *
 * A topic without a dead-letter topic (a dead-letter topic itself, `deadLetterTopic()`)
 * cannot park a message again: a dead-letter decision or exhausted retries there are
 * logged as an error with the message's coordinates, and the message counts as finished
 * (it stays where it is, in that topic, until its retention).
 */
export class PartitionWorker<T> {
  private readonly tracker = new OffsetTracker();
  private readonly keys = new KeyQueue<Entry>();
  private readonly target: DeliveryTarget<T>;
  private readonly maxBatch: number;
  private readonly batchRunner: BatchRunner<T>;
  private readonly waits = new Set<Wait>();
  /** Batches holding a slot: running a handler, waiting for a retry, or being dead-lettered. */
  private busy = 0;
  /** Of those, entries waiting out a backoff. */
  private waiting = 0;
  private stopped = false;
  /** While stopped: whether the gaps below `maxStarted` may still start (graceful) or nothing may (hard). */
  private fillGaps = false;
  /** Highest offset handed to a handler so far. */
  private maxStarted: bigint | undefined;
  private idle: (() => void)[] = [];
  /** Keys whose handler (or retry wait, or dead-lettering) is in progress. */
  private readonly runningKeys = new Set<string>();
  /** Called whenever an entry of this worker stops running (successors waiting on a key). */
  private readonly settleListeners = new Set<() => void>();
  /** See PartitionWorkerHost.predecessor; dropped once it runs nothing any more. */
  private predecessor: PartitionWorker<T> | undefined;
  /** Nothing starts while true: the predecessor is still draining. */
  private held = false;

  constructor(private readonly host: PartitionWorkerHost<T>) {
    const { handler, maxBatch } = batchHandlerOf(host, host.options.maxBatch);
    this.target = { topic: host.topic, groupId: host.groupId, partition: host.partition, system: host.system, handler };
    this.maxBatch = maxBatch;
    this.batchRunner = {
      target: this.target,
      logger: host.logger,
      runAlone: (entry) => this.runToCompletion(entry),
      waitOutage: (outage, offset, reason) => this.waitOutage(outage, offset, reason),
      mayStart: () => !this.stopped || this.fillGaps,
    };
    const predecessor = host.predecessor;
    if (predecessor?.isBusy()) {
      this.predecessor = predecessor;
      this.held = true;
      const settled = (): void => {
        if (!predecessor.isBusy()) {
          predecessor.settleListeners.delete(settled);
          if (this.predecessor === predecessor) this.predecessor = undefined;
        }
        this.pump();
      };
      predecessor.settleListeners.add(settled);
      void predecessor.drain(host.options.drainTimeoutMs).then(() => {
        this.held = false;
        this.pump();
      });
    }
  }

  /** True while a handler of this worker (or of a predecessor it waits for) is in progress. */
  isBusy(): boolean {
    return this.busy > 0 || (this.predecessor?.isBusy() ?? false);
  }

  /** True while a message of `key` is in progress here or in a predecessor. */
  isRunning(key: string): boolean {
    return this.runningKeys.has(key) || (this.predecessor?.isRunning(key) ?? false);
  }

  /** One past the last offset accepted. Fetching continues from here. */
  get nextOffset(): bigint | undefined {
    return this.tracker.nextOffset;
  }

  /** Accepted and not finished. */
  get pending(): number {
    return this.tracker.pending;
  }

  /**
   * Accepts messages in offset order. Offsets below `nextOffset` are duplicates of what
   * this worker already has (a re-fetch after a rebalance kept the partition here) and are
   * skipped. Returns how many were accepted.
   */
  enqueue(messages: readonly RawMessage[]): number {
    if (this.stopped) return 0;
    let accepted = 0;
    for (const raw of messages) {
      const next = this.tracker.nextOffset;
      if (next !== undefined && raw.offset < next) continue;
      this.tracker.track(raw.offset);
      this.keys.push(raw.key, { raw, attempt: 0 });
      accepted++;
    }
    if (accepted > 0) {
      this.reportPending();
      this.pump();
    }
    return accepted;
  }

  /** True while the worker can take more messages (not stopped, not retrying, buffer not full). */
  wantsMore(): boolean {
    return !this.stopped && this.waiting === 0 && this.tracker.pending < this.host.options.maxBufferedPerPartition;
  }

  /** The offset to commit (lowest unfinished, or one past the last), undefined before any message. */
  lowWaterMark(): bigint | undefined {
    return this.tracker.lowWaterMark();
  }

  /**
   * Stops taking messages and cancels pending retries (those messages stay unfinished,
   * so they are not committed and are delivered again after a restart). Running handlers
   * go on either way; `drain()` waits for them.
   *
   * - `fillGaps: true`, the graceful stop, for an owner that commits afterwards (close,
   *   an in-process revocation): the queued messages *below* the highest offset already
   *   started still run. They are the gaps that would otherwise hold the low-water mark
   *   back, so filling them lets the stop commit everything it handled and a restart
   *   redeliver nothing (a rolling deploy costs no duplicates). Messages above it are left
   *   for the next owner. Once a `drain()` times out, the gaps stop too (as `fillGaps:
   *   false`): the owner commits and hands over then, so nothing may start after it.
   * - `fillGaps: false`, the hard stop, for a partition already lost (a Kafka revocation,
   *   a crashed consumer): nothing new starts at all, since another member now owns the
   *   partition and starting here would run its messages twice at once.
   *
   * A hard stop after a graceful one makes it hard; never the other way round.
   */
  stop(mode: StopMode): void {
    if (this.stopped) {
      if (!mode.fillGaps) this.fillGaps = false;
      return;
    }
    this.stopped = true;
    this.fillGaps = mode.fillGaps;
    for (const wait of [...this.waits]) {
      clearTimeout(wait.timer);
      this.waits.delete(wait);
      wait.resolve(false);
    }
  }

  /**
   * Resolves true once no handler runs any more, false if `timeoutMs` passed first. A
   * stopped worker that times out starts nothing more (its gap filling ends).
   */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.busy === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idle = this.idle.filter((fn) => fn !== done);
        if (this.stopped) this.fillGaps = false;
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idle.push(done);
    });
  }

  private pump(): void {
    if (this.held) return;
    const predecessor = this.predecessor;
    // In partition order nothing starts beside a predecessor's handler, even past its drain
    // timeout: two handlers at once would break the order the consumer relies on.
    if (this.host.options.order === 'partition' && predecessor?.isBusy()) return;
    const skip = predecessor && ((key: string): boolean => predecessor.isRunning(key));
    while (this.waiting === 0 && this.busy < this.host.options.concurrency) {
      // In partition order the oldest messages go first whatever their keys. A stopping
      // worker only fills gaps, one message at a time.
      const batch = takeBatch(this.keys, this.host.options.order, this.stopped ? 1 : this.maxBatch, skip);
      if (batch.length === 0) return;
      const last = batch[batch.length - 1]!.item.raw.offset;
      if (this.stopped && (!this.fillGaps || this.maxStarted === undefined || last >= this.maxStarted)) {
        // Stopping: a hard stop, or beyond the gaps. Its key stays taken, so the key's
        // later (higher) messages are never started either; all are left for the next owner.
        continue;
      }
      if (this.maxStarted === undefined || last > this.maxStarted) this.maxStarted = last;
      this.busy++;
      for (const { key } of batch) this.runningKeys.add(key);
      void this.process(batch);
    }
  }

  private async process(batch: readonly Taken[]): Promise<void> {
    let finished = batch.map(() => false);
    try {
      finished = batch.length === 1 ? [await this.runToCompletion(batch[0]!.item)] : await runBatch(this.batchRunner, batch.map((t) => t.item));
    } catch (err) {
      // Both handle every expected failure themselves; reaching here is a bug. The
      // messages stay unfinished (never committed), so they are not lost.
      this.host.logger.log('error', 'bus: partition worker failed on a message', {
        topic: this.host.topic.name,
        partition: this.host.partition,
        offset: batch[0]!.item.raw.offset.toString(),
        ...errorFields(err),
      });
    }
    this.busy--;
    // An unfinished entry keeps its key busy for good: the worker is stopping, and no later
    // message of that key may overtake it.
    const stuck = finished.includes(false) ? new Set(batch.filter((_, index) => !finished[index]).map((t) => t.key)) : undefined;
    let progressed = false;
    for (const [index, { key, item }] of batch.entries()) {
      if (this.runningKeys.delete(key) && !stuck?.has(key)) this.keys.release(key);
      if (finished[index] && this.tracker.finish(item.raw.offset)) progressed = true;
    }
    if (progressed) this.host.progressed();
    if (finished.includes(true)) this.reportPending();
    this.pump();
    if (this.busy === 0) for (const fn of this.idle.splice(0)) fn();
    for (const fn of [...this.settleListeners]) fn();
    this.host.flowChanged();
  }

  /** Attempts until acked or dead-lettered (true) or the worker stops first (false). */
  private async runToCompletion(entry: Entry): Promise<boolean> {
    const { maxAttempts, backoff } = this.host.options;
    let outage = 0;
    for (;;) {
      entry.attempt++;
      const result = await runAttempt(this.target, [{ raw: entry.raw, attempt: entry.attempt }]);
      if (result.kind === 'ack') return true;
      if (result.kind === 'dead-letter') return this.giveUp(entry, result.reason);
      if (result.transient) {
        entry.attempt--;
        if (!(await this.waitOutage(++outage, entry.raw.offset, result.reason))) return false;
        continue;
      }
      if (entry.attempt >= maxAttempts) {
        return this.giveUp(entry, `gave up after ${entry.attempt} attempts: ${result.reason}`);
      }
      if (this.stopped) return false;
      this.host.logger.log('debug', 'bus: retrying message', {
        topic: this.host.topic.name,
        partition: this.host.partition,
        offset: entry.raw.offset.toString(),
        attempt: entry.attempt,
        reason: result.reason,
      });
      const delay = result.delayMs ?? backoffDelay(backoff, entry.attempt + 1);
      if (!(await this.pause(delay))) return false;
    }
  }

  /**
   * A dependency is down (the database restarting...): the message (or batch) is fine, so
   * it waits for as long as the outage lasts, never dead-lettered for it, and its keys'
   * later messages wait behind it. Retried every 0.2 s growing to 2 s. False if stopped.
   */
  private async waitOutage(outage: number, offset: bigint, reason: string): Promise<boolean> {
    if (this.stopped) return false;
    if (outage === 1 || outage % 50 === 0) {
      this.host.logger.log('warn', 'bus: a dependency is unavailable; retrying the message until it is back', {
        topic: this.host.topic.name,
        partition: this.host.partition,
        offset: offset.toString(),
        retries: outage,
        reason,
      });
    }
    return this.pause(Math.min(2000, backoffDelay(this.host.options.backoff, outage)));
  }

  /** The message is done for: dead-lettered, or, on a dead-letter topic, logged and let go. */
  private giveUp(entry: Entry, reason: string): Promise<boolean> {
    return giveUp(this.host, entry, reason, (failures) =>
      this.stopped ? Promise.resolve(false) : this.pause(backoffDelay(this.host.options.backoff, failures + 1)),
    );
  }

  private reportPending(): void {
    const { observer } = this.host.options;
    if (!observer.pending) return;
    const count = this.tracker.pending;
    notifyObserver(this.host.logger, 'pending', () => observer.pending?.(this.host.partition, count));
  }

  /** Waits `ms` with the partition paused; false if the worker stopped meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    this.waiting++;
    this.host.flowChanged();
    try {
      return await new Promise<boolean>((resolve) => {
        const wait: Wait = {
          timer: setTimeout(() => {
            this.waits.delete(wait);
            resolve(true);
          }, ms),
          resolve,
        };
        this.waits.add(wait);
      });
    } finally {
      this.waiting--;
      this.pump();
      this.host.flowChanged();
    }
  }
}
