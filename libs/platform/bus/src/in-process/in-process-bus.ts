import type { AnyTopic, Topic } from '@axon/contracts-kafka';
import type { Database, DataSource, QueryRunner } from '@axon/platform-database';
import type {
  BatchHandler,
  BatchSubscribeOptions,
  MessageBus,
  MessageHandler,
  MessageHeaders,
  PublishOptions,
  StagedMessages,
  SubscribeOptions,
  Subscription,
  TransactionalPublisher,
  TransactionSql,
} from '../bus';
import type { BusMetrics } from '../bus-metrics';
import { checkPublisherHeaders } from '../headers';
import { describeError, errorFields, stderrLogger, type BusLogger } from '../logger';
import { checkGroupId, resolveBatchSubscribeOptions, resolveSubscribeOptions, type ResolvedSubscribeOptions } from '../options';
import { partitionCountBelowTopic, raiseWaitsForConsumers, raiseWithLag } from '../partition-count';
import { partitionForKey } from '../partitioner';
import { withPublishSpans } from '../trace-context';
import type { WorkerHandlers } from '../worker/batch';
import type { RawMessage } from '../worker/raw-message';
import { GroupCoordinator } from './group-coordinator';
import { InProcessSubscription } from './in-process-subscription';
import { AppendQueue } from './append-queue';
import { OffsetCommitQueue } from './offset-commit-queue';
import { BUS_SCHEMA, LogStore, type AppendRecord, type PartitionAppend } from './log-store';
import { BUS_MIGRATIONS } from './migrations';
import { PublishNotifier } from './notifier';

export interface InProcessBusOptions {
  readonly logger?: BusLogger;
  /**
   * Fallback poll of owned partitions. Default 5 s: every commit hands its messages to the
   * subscribers (and only this process writes the log: `IN_PROCESS_LOCK`), so the poll
   * only recovers from a failed fetch; at 1 s an idle server ran about 75 statements a
   * second on it (16 partitions of every topic it consumes).
   */
  readonly pollIntervalMs?: number;
  /** Rows per fetch query. Default 500. */
  readonly fetchBatchSize?: number;
  readonly retention?: InProcessRetention;
  /**
   * Postgres only: how long `open` waits for another process's hold on the log to go
   * (see `IN_PROCESS_LOCK`) before failing. Default 0: fail at once.
   */
  readonly lockWaitMs?: number;
  /** Consumer lag gauges (`createBusMetrics`); none by default. */
  readonly metrics?: BusMetrics;
}

/** See LogStore.trim: consumed by every group AND older than this. */
export interface InProcessRetention {
  /** Default 7 days. */
  readonly durableMs?: number;
  /** Default 1 hour. */
  readonly ephemeralMs?: number;
  /** How often to trim; 0 never (call `trim()` yourself). Default 10 minutes. */
  readonly intervalMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The part of the pg client under a Postgres QueryRunner (`databaseConnection`) the lock watch uses. */
interface LockClient {
  on(event: 'error' | 'end', listener: (err?: unknown) => void): void;
  removeListener(event: 'error' | 'end', listener: (err?: unknown) => void): void;
}

export { BUS_SCHEMA };

/** A publish's messages as log records: each in its key's partition, with the caller's headers and its trace headers. */
function encodeRecords<T>(topic: Topic<T>, messages: readonly T[], options: PublishOptions, traceHeadersOf: (index: number) => MessageHeaders): AppendRecord[] {
  return messages.map((message, index) => {
    const key = topic.key(message);
    return { key, value: topic.codec.encode(message), partition: partitionForKey(key, topic.partitions), headers: { ...options.headers, ...traceHeadersOf(index) } };
  });
}

/** What a staged publish wrote: handed back to `committed`, which notifies the subscribers. */
class StagedAppend implements StagedMessages {
  constructor(
    readonly topic: string,
    readonly count: number,
    readonly appended: ReadonlyMap<number, PartitionAppend>,
  ) {}
}

/**
 * Name of the session-level advisory lock (`pg_try_advisory_lock(hashtext(name))`) an
 * open in-process bus holds on Postgres: the log's consumer groups live in one process,
 * so a second process opening the same database must fail instead of consuming the same
 * partitions. (PGlite's data directory can only be opened by one process anyway.)
 */
export const IN_PROCESS_LOCK = 'axon.bus.in-process';

const LOCK_TAKEN =
  'another process holds the in-process bus on this database; use Kafka (kafka.brokers) to run several processes';

/**
 * Takes IN_PROCESS_LOCK on a connection of its own, kept for the bus's lifetime (the lock
 * lives as long as that session). Waits up to `waitMs` for another holder to go.
 */
async function lockLog(dataSource: DataSource, waitMs: number): Promise<QueryRunner> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    const deadline = Date.now() + waitMs;
    for (;;) {
      const rows: { locked: boolean }[] = await runner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [IN_PROCESS_LOCK]);
      if (rows[0]?.locked === true) return runner;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(LOCK_TAKEN);
      await new Promise((resolve) => setTimeout(resolve, Math.min(200, left)));
    }
  } catch (err) {
    await runner.release();
    throw err;
  }
}

/**
 * The bus as a log in the process's database (schema `bus`): the embedded default, with
 * the same contract as Kafka. See README.md.
 */
export class InProcessBus implements MessageBus {
  readonly kind = 'in-process' as const;
  private readonly notifier = new PublishNotifier();
  private readonly coordinator = new GroupCoordinator();
  private readonly subscriptions = new Set<Subscription & { halt(): void }>();
  private readonly registered = new Map<string, { readonly partitions: number; readonly done: Promise<void> }>();
  private readonly store: LogStore;
  private readonly appends: AppendQueue;
  private readonly commits: OffsetCommitQueue;
  private readonly trimmer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Set once the connection holding IN_PROCESS_LOCK failed or ended: the lock is gone. */
  private lockLost: Error | undefined;
  private readonly unwatchLock: () => void;

  private transactional: TransactionalPublisher | undefined;

  private constructor(
    /** The database the log lives in (`transactionalPublisher` answers for it only). */
    private readonly database: Database,
    dataSource: DataSource,
    /** Postgres: the connection holding IN_PROCESS_LOCK. */
    private readonly lock: QueryRunner | undefined,
    private readonly logger: BusLogger,
    private readonly pollIntervalMs: number,
    private readonly fetchBatchSize: number,
    private readonly retention: Required<InProcessRetention>,
    private readonly metrics: BusMetrics | undefined,
  ) {
    this.store = new LogStore(dataSource);
    this.commits = new OffsetCommitQueue(this.store);
    this.appends = new AppendQueue(this.store, (heads) => {
      for (const [topic, partitions] of heads) this.notifier.notify(topic, partitions);
    });
    this.unwatchLock = this.watchLock();
    if (retention.intervalMs > 0) {
      this.trimmer = setInterval(() => {
        this.trim().catch((err: unknown) => this.logger.log('error', 'bus: trimming the in-process log failed', errorFields(err)));
      }, retention.intervalMs);
      this.trimmer.unref();
    }
  }

  /**
   * Opens the log in `database` (creating schema `bus` and migrating it). One per
   * database: on Postgres it takes IN_PROCESS_LOCK, and fails if another process (or
   * another bus in this one) holds it.
   */
  static async open(database: Database, options: InProcessBusOptions = {}): Promise<InProcessBus> {
    const dataSource = await database.dataSource({ schema: BUS_SCHEMA, migrations: [...BUS_MIGRATIONS] });
    let lock: QueryRunner | undefined;
    if (database.kind === 'postgres') {
      try {
        // The lock keeps one connection of the pool for good: with a pool of one, every query would wait for it.
        const poolSize = (dataSource.options as { readonly poolSize?: number }).poolSize;
        if (poolSize !== undefined && poolSize < 2) {
          throw new Error(`the in-process bus on Postgres needs a pool of at least 2 connections (one holds its lock), got ${poolSize}`);
        }
        lock = await lockLog(dataSource, options.lockWaitMs ?? 0);
      } catch (err) {
        await dataSource.destroy();
        throw err;
      }
    }
    const retention = {
      durableMs: options.retention?.durableMs ?? 7 * DAY_MS,
      ephemeralMs: options.retention?.ephemeralMs ?? 60 * 60 * 1000,
      intervalMs: options.retention?.intervalMs ?? 10 * 60 * 1000,
    };
    return new InProcessBus(database, dataSource, lock, options.logger ?? stderrLogger(), options.pollIntervalMs ?? 5000, options.fetchBatchSize ?? 500, retention, options.metrics);
  }

  /**
   * Watches the pg client holding the lock: if it fails or ends (the server terminated the
   * backend, the network dropped it), the lock went with the session and another process
   * may take the log over. Every subscription then stops hard (nothing new starts, nothing
   * more is committed), `ping()` rejects and `subscribe()` throws; the bus never re-takes
   * the lock. Returns the function that stops watching (close releases the lock itself).
   */
  private watchLock(): () => void {
    const client = (this.lock as { readonly databaseConnection?: LockClient } | undefined)?.databaseConnection;
    if (!client || typeof client.on !== 'function') return () => undefined;
    const onError = (err: unknown): void => this.loseLock(err instanceof Error ? err : new Error(String(err)));
    const onEnd = (): void => this.loseLock(new Error('the connection ended'));
    client.on('error', onError);
    client.on('end', onEnd);
    return () => {
      client.removeListener('error', onError);
      client.removeListener('end', onEnd);
    };
  }

  private loseLock(err: Error): void {
    if (this.closed || this.lockLost) return;
    this.lockLost = err;
    this.logger.log('error', `bus: lost the connection holding the in-process bus lock (${IN_PROCESS_LOCK}); every subscription stopped, another process may own the log now`, {
      subscriptions: this.subscriptions.size,
      ...errorFields(err),
    });
    for (const subscription of this.subscriptions) subscription.halt();
  }

  /** Deletes messages every group has consumed that are past their retention; returns how many. */
  async trim(now = Date.now()): Promise<number> {
    const deleted = await this.store.trim({ durable: now - this.retention.durableMs, ephemeral: now - this.retention.ephemeralMs });
    if (deleted > 0) this.logger.log('debug', 'bus: trimmed the in-process log', { deleted });
    return deleted;
  }

  async ensureTopics(topics: readonly AnyTopic[]): Promise<void> {
    this.checkOpen();
    // A topic before its dead-letter twin: a raise the topic's consumers hold up leaves the twin as it was.
    await Promise.all(
      topics.map(async (t) => {
        await this.register(t.name, t.partitions, t.retention);
        if (t.dlqName !== undefined) await this.register(t.dlqName, t.partitions, t.retention);
      }),
    );
  }

  async publish<T>(topic: Topic<T>, messages: readonly T[], options: PublishOptions = {}): Promise<void> {
    this.checkOpen();
    checkPublisherHeaders(options.headers);
    if (messages.length === 0) return;
    await this.ensureTopics([topic]);
    await withPublishSpans(topic.name, 'axon-in-process', messages.length, options.traceContexts, async (traceHeadersOf) => {
      await this.append(topic.name, encodeRecords(topic, messages, options, traceHeadersOf));
    });
  }

  /**
   * For the services whose DataSources come from the database the log is in: their
   * transactions can append to it (`bus.messages`, named with its schema, so no
   * `search_path` change). The same offsets, row locks and notifications as `publish`.
   */
  transactionalPublisher(database: object): TransactionalPublisher | undefined {
    if (database !== this.database) return undefined;
    this.transactional ??= {
      stage: async <T>(tx: TransactionSql, topic: Topic<T>, messages: readonly T[], options: PublishOptions = {}): Promise<StagedMessages> => {
        this.checkOpen();
        checkPublisherHeaders(options.headers);
        if (messages.length === 0) return new StagedAppend(topic.name, 0, new Map());
        // Not created here: on PGlite the caller's transaction holds the only connection.
        const registered = this.registered.get(topic.name)?.done;
        if (registered === undefined) throw new Error(`${topic.name}: call ensureTopics before publishing to it in a transaction`);
        await registered;
        return withPublishSpans(topic.name, 'axon-in-process', messages.length, options.traceContexts, async (traceHeadersOf) => {
          const records = encodeRecords(topic, messages, options, traceHeadersOf);
          const appended = await this.store.append([{ topic: topic.name, records }], Date.now(), tx);
          return new StagedAppend(topic.name, messages.length, appended.get(topic.name) ?? new Map());
        });
      },
      committed: (staged: StagedMessages): void => {
        if (!(staged instanceof StagedAppend)) throw new TypeError('committed() takes what stage() returned');
        if (staged.count > 0 && !this.closed) this.notifier.notify(staged.topic, staged.appended);
      },
    };
    return this.transactional;
  }

  async subscribe<T>(topic: Topic<T>, groupId: string, handler: MessageHandler<T>, options?: SubscribeOptions): Promise<Subscription> {
    return this.join(topic, groupId, { handler }, resolveSubscribeOptions(options));
  }

  async subscribeBatches<T>(topic: Topic<T>, groupId: string, handler: BatchHandler<T>, options?: BatchSubscribeOptions): Promise<Subscription> {
    return this.join(topic, groupId, { batchHandler: handler }, resolveBatchSubscribeOptions(options));
  }

  private async join<T>(topic: Topic<T>, groupId: string, handlers: WorkerHandlers<T>, resolved: ResolvedSubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    if (this.lockLost) throw this.lockLostError();
    checkGroupId(groupId);
    await this.ensureTopics([topic]);
    const subscription = new InProcessSubscription<T>({
      store: this.store,
      commits: this.commits,
      notifier: this.notifier,
      coordinator: this.coordinator,
      topic,
      groupId,
      ...handlers,
      options: resolved,
      logger: this.logger,
      pollIntervalMs: this.pollIntervalMs,
      fetchBatchSize: this.fetchBatchSize,
      deadLetter: (source, message, headers) => this.deadLetter(source, message, headers),
      onStopped: (s) => this.subscriptions.delete(s),
      metrics: this.metrics,
    });
    this.subscriptions.add(subscription);
    if (this.lockLost) subscription.halt();
    await subscription.start();
    return subscription;
  }

  async endOffsets(topic: AnyTopic): Promise<readonly bigint[]> {
    this.checkOpen();
    const heads = await this.store.headOffsets(topic.name);
    return Array.from({ length: topic.partitions }, (_, partition) => heads.get(partition) ?? 0n);
  }

  /** A round trip to the database; on Postgres over the lock's connection, so a lost lock fails it too. */
  async ping(): Promise<void> {
    this.checkOpen();
    if (!this.lock) {
      await this.store.ping();
      return;
    }
    if (this.lockLost) throw this.lockLostError();
    try {
      await this.lock.query('SELECT 1');
    } catch (err) {
      throw new Error(`the in-process bus lost the connection holding its lock (${IN_PROCESS_LOCK}): ${describeError(err)}`, { cause: err });
    }
  }

  private lockLostError(): Error {
    return new Error(`the in-process bus lost the connection holding its lock (${IN_PROCESS_LOCK}): ${describeError(this.lockLost)}`, {
      cause: this.lockLost,
    });
  }

  /** Stops every subscription, then releases the lock. The database stays open: its owner closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.trimmer);
    try {
      await Promise.all([...this.subscriptions].map((s) => s.stop()));
      // Publishes (and dead letters) already accepted still commit while the lock is ours.
      await this.appends.drained();
    } finally {
      await this.unlock();
    }
  }

  private async unlock(): Promise<void> {
    this.unwatchLock();
    const lock = this.lock;
    if (!lock || lock.isReleased) return;
    try {
      await lock.query(`SELECT pg_advisory_unlock(hashtext($1))`, [IN_PROCESS_LOCK]);
    } catch (err) {
      // The session is probably gone, and its lock with it; otherwise the lock goes when the database closes.
      this.logger.log('warn', 'bus: could not release the in-process bus lock', errorFields(err));
    } finally {
      await lock.release();
    }
  }

  private async deadLetter(source: AnyTopic, message: RawMessage, headers: MessageHeaders): Promise<void> {
    // The worker never dead-letters from a topic without a dead-letter topic (a .dlq itself).
    if (source.dlqName === undefined) throw new Error(`${source.name} has no dead-letter topic`);
    await this.append(source.dlqName, [
      { key: message.key, value: message.value, headers, partition: partitionForKey(message.key, source.partitions) },
    ]);
  }

  /** Concurrent appends share transactions (AppendQueue); resolves once these records are committed. */
  private append(topic: string, records: readonly AppendRecord[]): Promise<void> {
    return this.appends.append({ topic, records });
  }

  /**
   * Registers a topic once per bus, raising its partition count to `partitions` once its
   * consumer groups have consumed everything in it (`raiseWaitsForConsumers`); a failure (a
   * count below the topic's, or a raise that must wait) is forgotten, so the next use asks again.
   */
  private register(name: string, partitions: number, retention: string): Promise<void> {
    const known = this.registered.get(name);
    if (known !== undefined && known.partitions === partitions) return known.done;
    const done = this.store.registerTopic(name, partitions, retention).then(async (actual) => {
      if (actual > partitions) throw partitionCountBelowTopic(name, actual, partitions);
      if (actual === partitions) return;
      const lag = raiseWaitsForConsumers(name) ? await this.store.lagOf(name) : [];
      if (lag.length > 0) throw raiseWithLag(name, partitions, lag);
      await this.store.raiseTopic(name, partitions);
      this.logger.log('info', 'bus: raised the partition count of a topic', { topic: name, from: actual, to: partitions });
    });
    const entry = { partitions, done };
    done.catch(() => {
      if (this.registered.get(name) === entry) this.registered.delete(name);
    });
    this.registered.set(name, entry);
    return done;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('InProcessBus is closed');
  }
}
