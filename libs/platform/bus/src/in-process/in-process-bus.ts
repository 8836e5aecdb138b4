import type { AnyTopic, Topic } from '@axon/contracts-kafka';
import type { Database, DataSource } from '@axon/platform-database';
import type { MessageBus, MessageHandler, MessageHeaders, PublishOptions, SubscribeOptions, Subscription } from '../bus';
import { checkPublisherHeaders } from '../headers';
import { errorFields, stderrLogger, type BusLogger } from '../logger';
import { checkGroupId, resolveSubscribeOptions } from '../options';
import { partitionForKey } from '../partitioner';
import { withPublishSpan } from '../trace-context';
import type { RawMessage } from '../worker/raw-message';
import { GroupCoordinator } from './group-coordinator';
import { InProcessSubscription } from './in-process-subscription';
import { LogStore, type AppendRecord } from './log-store';
import { BUS_MIGRATIONS } from './migrations';
import { PublishNotifier } from './notifier';

export interface InProcessBusOptions {
  readonly logger?: BusLogger;
  /** Fallback poll of owned partitions (wake-ups normally come from publish). Default 1 s. */
  readonly pollIntervalMs?: number;
  /** Rows per fetch query. Default 500. */
  readonly fetchBatchSize?: number;
  readonly retention?: InProcessRetention;
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

/** Postgres schema of the in-process log. */
export const BUS_SCHEMA = 'bus';

/**
 * The bus as a log in the process's database (schema `bus`): the embedded default, with
 * the same contract as Kafka. See README.md.
 */
export class InProcessBus implements MessageBus {
  readonly kind = 'in-process' as const;
  private readonly notifier = new PublishNotifier();
  private readonly coordinator = new GroupCoordinator();
  private readonly subscriptions = new Set<Subscription>();
  private readonly registered = new Map<string, Promise<void>>();
  private readonly store: LogStore;
  private readonly trimmer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    dataSource: DataSource,
    private readonly logger: BusLogger,
    private readonly pollIntervalMs: number,
    private readonly fetchBatchSize: number,
    private readonly retention: Required<InProcessRetention>,
  ) {
    this.store = new LogStore(dataSource);
    if (retention.intervalMs > 0) {
      this.trimmer = setInterval(() => {
        this.trim().catch((err: unknown) => this.logger.log('error', 'bus: trimming the in-process log failed', errorFields(err)));
      }, retention.intervalMs);
      this.trimmer.unref();
    }
  }

  /** Opens the log in `database` (creating schema `bus` and migrating it). One per process. */
  static async open(database: Database, options: InProcessBusOptions = {}): Promise<InProcessBus> {
    const dataSource = await database.dataSource({ schema: BUS_SCHEMA, migrations: [...BUS_MIGRATIONS] });
    const retention = {
      durableMs: options.retention?.durableMs ?? 7 * DAY_MS,
      ephemeralMs: options.retention?.ephemeralMs ?? 60 * 60 * 1000,
      intervalMs: options.retention?.intervalMs ?? 10 * 60 * 1000,
    };
    return new InProcessBus(dataSource, options.logger ?? stderrLogger(), options.pollIntervalMs ?? 1000, options.fetchBatchSize ?? 500, retention);
  }

  /** Deletes messages every group has consumed that are past their retention; returns how many. */
  async trim(now = Date.now()): Promise<number> {
    const deleted = await this.store.trim({ durable: now - this.retention.durableMs, ephemeral: now - this.retention.ephemeralMs });
    if (deleted > 0) this.logger.log('debug', 'bus: trimmed the in-process log', { deleted });
    return deleted;
  }

  async ensureTopics(topics: readonly AnyTopic[]): Promise<void> {
    this.checkOpen();
    await Promise.all(
      topics.flatMap((t) => [...new Set([t.name, t.dlqName])].map((name) => this.register(name, t.partitions, t.retention))),
    );
  }

  async publish<T>(topic: Topic<T>, messages: readonly T[], options: PublishOptions = {}): Promise<void> {
    this.checkOpen();
    checkPublisherHeaders(options.headers);
    if (messages.length === 0) return;
    await this.ensureTopics([topic]);
    const encoded = messages.map((message) => {
      const key = topic.key(message);
      return { key, value: topic.codec.encode(message), partition: partitionForKey(key, topic.partitions) };
    });
    await withPublishSpan(topic.name, 'axon-in-process', messages.length, async (traceHeaders) => {
      const headers = { ...options.headers, ...traceHeaders };
      await this.append(topic.name, encoded.map((m) => ({ ...m, headers })));
    });
  }

  async subscribe<T>(topic: Topic<T>, groupId: string, handler: MessageHandler<T>, options?: SubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    checkGroupId(groupId);
    const resolved = resolveSubscribeOptions(options);
    await this.ensureTopics([topic]);
    const subscription = new InProcessSubscription<T>({
      store: this.store,
      notifier: this.notifier,
      coordinator: this.coordinator,
      topic,
      groupId,
      handler,
      options: resolved,
      logger: this.logger,
      pollIntervalMs: this.pollIntervalMs,
      fetchBatchSize: this.fetchBatchSize,
      deadLetter: (source, message, headers) => this.deadLetter(source, message, headers),
      onStopped: (s) => this.subscriptions.delete(s),
    });
    this.subscriptions.add(subscription);
    await subscription.start();
    return subscription;
  }

  async ping(): Promise<void> {
    this.checkOpen();
    await this.store.ping();
  }

  /** Stops every subscription. The database stays open: its owner closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.trimmer);
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
  }

  private async deadLetter(source: AnyTopic, message: RawMessage, headers: MessageHeaders): Promise<void> {
    await this.append(source.dlqName, [
      { key: message.key, value: message.value, headers, partition: partitionForKey(message.key, source.partitions) },
    ]);
  }

  private async append(topic: string, records: readonly AppendRecord[]): Promise<void> {
    const partitions = await this.store.append(topic, records, Date.now());
    // After the commit: a woken consumer must find the rows.
    this.notifier.notify(topic, partitions);
  }

  private register(name: string, partitions: number, retention: string): Promise<void> {
    let done = this.registered.get(name);
    if (!done) {
      done = this.store.registerTopic(name, partitions, retention).then(
        (actual) => {
          if (actual !== partitions) {
            this.logger.log('warn', 'bus: topic registered with a different partition count than its definition', {
              topic: name,
              actual,
              expected: partitions,
            });
          }
        },
        (err: unknown) => {
          this.registered.delete(name);
          throw err;
        },
      );
      this.registered.set(name, done);
    }
    return done;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('InProcessBus is closed');
  }
}
