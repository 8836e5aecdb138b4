import type { Topic } from '@axon/contracts-kafka';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { MessageHeaders, Subscription } from '../bus';
import type { BusMetrics } from '../bus-metrics';
import { headersFromKafka } from '../headers';
import { describeError, errorFields, type BusLogger } from '../logger';
import { notifyObserver, type ResolvedSubscribeOptions } from '../options';
import { handlersOf, type WorkerHandlers } from '../worker/batch';
import { ConsumerLag } from '../worker/consumer-lag';
import { PartitionWorker } from '../worker/partition-worker';
import type { RawMessage } from '../worker/raw-message';
import { isKafkaNotReady } from './kafka-errors';
import type { KafkaTiming } from './kafka-options';

export type KafkaSubscriptionDeps<T> = KafkaSubscriptionBase<T> & WorkerHandlers<T>;

interface KafkaSubscriptionBase<T> {
  readonly kafka: Kafka;
  readonly topic: Topic<T>;
  readonly groupId: string;
  readonly options: ResolvedSubscribeOptions;
  readonly timing: KafkaTiming;
  readonly logger: BusLogger;
  readonly deadLetter: (topic: Topic<T>, message: RawMessage, headers: MessageHeaders) => Promise<void>;
  readonly onStopped: (subscription: KafkaSubscription<T>) => void;
  readonly metrics?: BusMetrics | undefined;
  /**
   * The `topic` and `group` labels of this subscription's metrics: the logical names,
   * without the namespace prefix or the per-topic group suffix, so that a dashboard's
   * query (`group="room-server"`) reads the same on every bus. Default: the Kafka names.
   */
  readonly metricLabels?: { readonly topic: string; readonly group: string } | undefined;
}

/** Attempts of the final commit of a graceful stop before giving up (the messages then come back). */
const FINAL_COMMIT_ATTEMPTS = 4;

function toRaw(message: KafkaMessage): RawMessage {
  return {
    offset: BigInt(message.offset),
    key: message.key ? message.key.toString('utf8') : '',
    value: message.value ?? new Uint8Array(0),
    headers: headersFromKafka(message.headers),
    timestamp: Number(message.timestamp),
  };
}

/**
 * One kafkajs consumer in group `groupId`, feeding a PartitionWorker per assigned partition.
 *
 * Fetching and handling are decoupled. kafkajs fetches the next batch of a broker only
 * once every batch of the previous fetch has been handed to `eachBatch`, so `eachBatch`
 * must never wait for handlers: it hands messages to the partition's worker, marks them
 * resolved (which only moves kafkajs's fetch position) and returns. Flow control is
 * `pause`/`resume` per partition: paused while its worker is full or retrying.
 *
 * Commits (`autoCommit: false`) are ours alone: the low-water mark of each worker,
 * batched every `commitIntervalMs`, never below what this subscription committed before.
 *
 * Rebalances (kafkajs only does eager ones): on every new assignment, workers of
 * partitions that stay here are kept (kafkajs re-fetches from the committed offset, the
 * worker skips what it already has, so nothing runs twice here); workers of partitions
 * that left are stopped hard, without committing: they start nothing more, not even the
 * gaps a graceful stop fills, since the partition is another member's now (it starts
 * from the last commit: redelivery, never loss). Handlers already running for a partition
 * that left may overlap with its new owner; room writes are fenced for that reason
 * (ARCHITECTURE.md §2.2). A crash of the kafkajs consumer loses every partition the same
 * way (kafkajs leaves the group before it restarts); a crash it does not restart from
 * fails the subscription for good (`describeFailure()`, reported by `KafkaBus.ping`),
 * unless it was a broker outage kafkajs does not retry (`isKafkaNotReady`): then the
 * subscription starts the consumer again itself.
 * A worker stopped hard while its handlers still run is kept as retiring; if its
 * partition comes back (a restart usually hands back the same ones), the new worker waits
 * for it to drain and never starts a key it still runs, so one key never runs twice at
 * once in this process.
 *
 * A graceful `stop()` fills the gaps, drains (bounded by `drainTimeoutMs`), commits
 * (retried a few times), and leaves the group.
 */
export class KafkaSubscription<T> implements Subscription {
  readonly topic: string;
  readonly groupId: string;
  private readonly consumer: Consumer;
  private readonly workers = new Map<number, PartitionWorker<T>>();
  /**
   * Workers stopped hard (their partition was lost) whose handlers may still run, by
   * partition. A new worker for the partition (it came back, typically after a consumer
   * restart) waits for its retiring one: see `workerFor`.
   */
  private readonly retiring = new Map<number, PartitionWorker<T>>();
  private readonly paused = new Set<number>();
  private readonly committed = new Map<number, bigint>();
  private assigned: readonly number[] = [];
  private running = false;
  private stopping: Promise<void> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private commitChain: Promise<boolean> = Promise.resolve(true);
  /** The crash kafkajs did not restart from, if any. */
  private failed: Error | undefined;
  /** The back-off of the next own restart after a broker outage (`scheduleRestart`). */
  private restartDelayMs: number | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  /**
   * Lag per owned partition: the high watermark of the partition's last fetched batch
   * minus the worker's low-water mark, updated on each batch and each time the mark
   * moves. While a partition is paused nothing is fetched, so its head (and the lag) is
   * as of the last batch until fetching resumes.
   */
  private readonly lag: ConsumerLag;

  constructor(private readonly deps: KafkaSubscriptionDeps<T>) {
    this.topic = deps.topic.name;
    this.groupId = deps.groupId;
    this.lag = new ConsumerLag(deps.metrics, deps.metricLabels?.topic ?? this.topic, deps.metricLabels?.group ?? this.groupId);
    const { timing } = deps;
    this.consumer = deps.kafka.consumer({
      groupId: deps.groupId,
      sessionTimeout: timing.sessionTimeoutMs,
      rebalanceTimeout: timing.rebalanceTimeoutMs,
      heartbeatInterval: timing.heartbeatIntervalMs,
      maxWaitTimeInMs: timing.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: { retries: timing.retries, initialRetryTime: timing.initialRetryTimeMs, maxRetryTime: timing.maxRetryTimeMs },
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.restartDelayMs = undefined;
      this.onAssignment(event.payload.memberAssignment[this.topic] ?? []);
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      // kafkajs gives up on a broker that is restarting (no group coordinator yet): that
      // outage ends, so this subscription starts the consumer again itself.
      const recover = !restart && !this.stopping && this.running && isKafkaNotReady(error);
      if (!restart && !recover && !this.stopping) this.failed = error;
      this.deps.logger.log(
        restart || recover ? 'warn' : 'error',
        restart
          ? 'bus: Kafka consumer crashed, restarting'
          : recover
            ? 'bus: Kafka consumer lost the broker; starting it again'
            : 'bus: Kafka consumer crashed for good; nothing more is consumed until the process restarts',
        { topic: this.topic, groupId: this.groupId, ...errorFields(error) },
      );
      // kafkajs left the group before emitting this: every partition is someone else's now.
      this.onAssignment([]);
      if (recover) this.scheduleRestart();
    });
  }

  /**
   * Set once the kafkajs consumer crashed without restarting (a non-retriable error, such
   * as an authorisation failure), so the subscription consumes nothing any more: why, in
   * one line for readiness checks.
   */
  describeFailure(): string | undefined {
    return this.failed && `Kafka consumer of ${this.topic} (group ${this.groupId}) stopped for good: ${describeError(this.failed)}`;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: this.deps.options.startFrom === 'earliest' });
    // Resolves after the first join, so the subscription owns its partitions on return.
    await this.run();
    this.running = true;
    for (const partition of this.assigned) this.syncFlow(partition);
  }

  /** Resolves after the first join (or a crash joining, which the CRASH listener handles). */
  private run(): Promise<void> {
    return this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload) => this.onBatch(payload),
    });
  }

  /**
   * Starts the crashed consumer again after a back-off (doubling from the retry time to
   * the maximum, reset by a join). A start that fails crashes again, which lands here.
   */
  private scheduleRestart(): void {
    const { initialRetryTimeMs, maxRetryTimeMs } = this.deps.timing;
    const delay = this.restartDelayMs === undefined ? initialRetryTimeMs : Math.min(this.restartDelayMs * 2, maxRetryTimeMs);
    this.restartDelayMs = delay;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      void (async () => {
        try {
          await this.consumer.connect();
          await this.run();
        } catch (error) {
          this.deps.logger.log('warn', 'bus: starting the Kafka consumer again failed; trying later', { topic: this.topic, groupId: this.groupId, ...errorFields(error) });
          this.scheduleRestart();
        }
      })();
    }, delay);
  }

  assignment(): readonly number[] {
    return this.assigned;
  }

  stop(): Promise<void> {
    this.stopping ??= this.drainAndLeave();
    return this.stopping;
  }

  private async drainAndLeave(): Promise<void> {
    clearTimeout(this.restartTimer);
    try {
      // Graceful: we still own the partitions and commit below, so the gaps may be filled.
      // A revocation meanwhile stops the partition's worker hard (onAssignment).
      for (const worker of this.workers.values()) worker.stop({ fillGaps: true });
      this.kafkaCall('pause', () => this.consumer.pause([{ topic: this.topic }]));
      // One deadline for all: each drain's timer starts now. A worker that times out starts nothing more.
      // Handlers of lost partitions (retiring workers) are waited for too: close returns after every handler.
      const all = [...this.workers.values(), ...this.retiring.values()];
      const drained = await Promise.all(all.map((w) => w.drain(this.deps.options.drainTimeoutMs)));
      if (drained.includes(false)) {
        this.deps.logger.log('warn', 'bus: handlers still running after the drain timeout; their messages will be delivered again', {
          topic: this.topic,
          groupId: this.groupId,
        });
      }
      clearTimeout(this.commitTimer);
      this.commitTimer = undefined;
      await this.finalCommit();
      // Leaves the group (LeaveGroup), so the remaining members take over at once.
      await this.consumer.disconnect();
    } finally {
      this.running = false;
      this.lag.forgetAll();
      this.deps.onStopped(this);
    }
  }

  /**
   * The retried commit at the end of a graceful stop. A failure is typically a rebalance
   * in progress; after it, whatever partitions are still ours can commit.
   */
  private async finalCommit(): Promise<void> {
    let delay = this.deps.timing.initialRetryTimeMs;
    for (let attempt = 1; ; attempt++) {
      if (await this.commitNow()) return;
      if (attempt >= FINAL_COMMIT_ATTEMPTS) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
    this.deps.logger.log('error', `bus: final offset commit failed after ${FINAL_COMMIT_ATTEMPTS} attempts; what was handled since the last commit will be delivered again`, {
      topic: this.topic,
      groupId: this.groupId,
      uncommitted: Object.fromEntries([...this.uncommittedMarks()].map(([partition, mark]) => [partition, mark.toString()])),
    });
  }

  /**
   * A new assignment (a rebalance, or none after a crash). Workers of partitions that are
   * no longer ours stop hard: the partition is lost and nothing of ours can be committed.
   */
  private onAssignment(partitions: readonly number[]): void {
    const next = new Set(partitions);
    for (const [partition, worker] of this.workers) {
      if (next.has(partition)) continue;
      this.lag.forget(partition);
      worker.stop({ fillGaps: false });
      this.workers.delete(partition);
      this.committed.delete(partition);
      if (worker.isBusy()) this.retiring.set(partition, worker);
    }
    for (const [partition, worker] of this.retiring) if (!worker.isBusy()) this.retiring.delete(partition);
    this.assigned = [...partitions].sort((a, b) => a - b);
    // A restarted kafkajs consumer forgets its paused partitions: re-apply ours.
    this.paused.clear();
    if (this.running && !this.stopping) {
      this.kafkaCall('resume', () => this.consumer.resume([{ topic: this.topic }]));
      for (const partition of this.assigned) this.syncFlow(partition);
    }
    const assigned = this.assigned;
    notifyObserver(this.deps.logger, 'assigned', () => this.deps.options.observer.assigned?.(assigned));
  }

  private async onBatch({ batch, resolveOffset }: EachBatchPayload): Promise<void> {
    if (this.stopping || !this.assigned.includes(batch.partition)) return;
    const worker = this.workerFor(batch.partition);
    for (const message of batch.messages) {
      const next = worker.nextOffset;
      if (next !== undefined && BigInt(message.offset) < next) {
        resolveOffset(message.offset);
        continue;
      }
      // Stop at capacity or while retrying; unresolved messages are fetched again on resume.
      if (!worker.wantsMore()) break;
      worker.enqueue([toRaw(message)]);
      resolveOffset(message.offset);
    }
    if (this.lag.enabled) {
      this.lag.head(batch.partition, BigInt(batch.highWatermark));
      const first = batch.messages[0];
      this.lag.update(batch.partition, worker.lowWaterMark() ?? (first === undefined ? undefined : BigInt(first.offset)));
    }
    this.syncFlow(batch.partition);
  }

  private workerFor(partition: number): PartitionWorker<T> {
    let worker = this.workers.get(partition);
    if (!worker) {
      const { deps } = this;
      // The partition came back while the worker that lost it still runs handlers (a
      // consumer crash and restart, or a quick revoke and re-assign): the new worker starts
      // from the last commit, so it would run those same messages again, concurrently.
      // It waits for the old one to drain instead (bounded by drainTimeoutMs), and after
      // that still never starts a key the old one runs.
      const retiring = this.retiring.get(partition);
      this.retiring.delete(partition);
      worker = new PartitionWorker<T>({
        predecessor: retiring,
        topic: deps.topic,
        groupId: deps.groupId,
        partition,
        system: 'kafka',
        ...handlersOf(deps),
        options: deps.options,
        logger: deps.logger,
        deadLetter: (message, headers) => deps.deadLetter(deps.topic, message, headers),
        progressed: () => {
          // A retiring worker (its partition lost) is not in `workers`: its progress is nobody's lag.
          this.lag.update(partition, this.workers.get(partition)?.lowWaterMark());
          this.scheduleCommit();
        },
        flowChanged: () => this.syncFlow(partition),
      });
      this.workers.set(partition, worker);
    }
    return worker;
  }

  /** Pauses fetching from `partition` while its worker wants no more, resumes after. */
  private syncFlow(partition: number): void {
    if (!this.running || this.stopping) return;
    const worker = this.workers.get(partition);
    const wants = worker ? worker.wantsMore() : true;
    if (!wants && !this.paused.has(partition)) {
      this.paused.add(partition);
      this.kafkaCall('pause', () => this.consumer.pause([{ topic: this.topic, partitions: [partition] }]));
    } else if (wants && this.paused.has(partition)) {
      this.paused.delete(partition);
      this.kafkaCall('resume', () => this.consumer.resume([{ topic: this.topic, partitions: [partition] }]));
    }
  }

  /** pause/resume throw only while kafkajs has no consumer group (restarting after a crash); the next assignment re-applies. */
  private kafkaCall(what: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.deps.logger.log('debug', `bus: Kafka consumer ${what} skipped`, { topic: this.topic, ...errorFields(err) });
    }
  }

  private scheduleCommit(): void {
    if (this.commitTimer || this.stopping) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.commitNow();
    }, this.deps.options.commitIntervalMs);
  }

  /**
   * Commits serially (never two commits in flight); failures are logged and retried by the
   * next commit. Resolves false if this commit failed.
   */
  private commitNow(): Promise<boolean> {
    // A commit that throws (it should not) must not reject every later one.
    this.commitChain = this.commitChain.then(() => this.commitLowWaterMarks()).catch((err: unknown) => {
      this.deps.logger.log('error', 'bus: Kafka offset commit failed unexpectedly', { topic: this.topic, groupId: this.groupId, ...errorFields(err) });
      return false;
    });
    return this.commitChain;
  }

  /** Low-water marks of the partitions still ours that are above their last commit. */
  private uncommittedMarks(): Map<number, bigint> {
    const marks = new Map<number, bigint>();
    for (const partition of this.assigned) {
      const mark = this.workers.get(partition)?.lowWaterMark();
      if (mark === undefined) continue;
      const last = this.committed.get(partition);
      if (last !== undefined && mark <= last) continue;
      marks.set(partition, mark);
    }
    return marks;
  }

  private async commitLowWaterMarks(): Promise<boolean> {
    const marks = this.uncommittedMarks();
    const offsets = [...marks].map(([partition, mark]) => ({ topic: this.topic, partition, offset: mark.toString() }));
    if (offsets.length === 0) return true;
    try {
      await this.consumer.commitOffsets(offsets);
    } catch (err) {
      // Typically a rebalance in progress. Nothing is lost: the messages stay uncommitted
      // and are delivered again if the partition moves; otherwise the next commit covers them.
      this.deps.logger.log(this.stopping ? 'warn' : 'info', 'bus: Kafka offset commit failed', {
        topic: this.topic,
        groupId: this.groupId,
        ...errorFields(err),
      });
      this.scheduleCommit();
      return false;
    }
    for (const [partition, mark] of marks) {
      // A revocation that arrived while the commit was in flight: the partition is not ours to track any more.
      if (!this.assigned.includes(partition)) continue;
      this.committed.set(partition, mark);
      notifyObserver(this.deps.logger, 'committed', () => this.deps.options.observer.committed?.(partition, mark.toString()));
    }
    return true;
  }
}
