import type { AnyTopic, Topic } from '@axon/contracts-kafka';
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs';
import type {
  BatchHandler,
  BatchSubscribeOptions,
  MessageBus,
  MessageHandler,
  MessageHeaders,
  PublishOptions,
  SubscribeOptions,
  Subscription,
} from '../bus';
import type { BusMetrics } from '../bus-metrics';
import { GroupLagExporter } from './group-lag';
import { checkPublisherHeaders } from '../headers';
import { partitionForKey } from '../partitioner';
import { stderrLogger, type BusLogger } from '../logger';
import { checkGroupId, resolveBatchSubscribeOptions, resolveSubscribeOptions, type ResolvedSubscribeOptions } from '../options';
import { withPublishSpans } from '../trace-context';
import type { WorkerHandlers } from '../worker/batch';
import type { RawMessage } from '../worker/raw-message';
import { isKafkaNotReady } from './kafka-errors';
import { KAFKA_DEFAULT_TIMING, kafkaLogCreator, type KafkaBusOptions, type KafkaTiming } from './kafka-options';
import { KafkaSubscription } from './kafka-subscription';
import { KafkaTopicRegistry } from './kafka-topics';

/**
 * A produce request stays well under the broker's default `message.max.bytes` (1 MiB per
 * record batch) and kafkajs sends one batch per partition per request, so big publishes
 * go out as several sequential requests (sequential keeps per-key order).
 */
const MAX_REQUEST_BYTES = 512 * 1024;
const MAX_REQUEST_MESSAGES = 1000;

interface OutgoingMessage {
  readonly key: string;
  /**
   * The key's partition under the deployment's count for the topic (`partitionForKey`),
   * never the broker's: a topic raised on the brokers before every process has the new
   * count would otherwise see two mappings of its keys at once.
   */
  readonly partition: number;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The bus on Kafka (kafkajs): see README.md for the guarantees and the design. */
export class KafkaBus implements MessageBus {
  readonly kind = 'kafka' as const;
  private readonly topics: KafkaTopicRegistry;
  private readonly subscriptions = new Set<Subscription & Pick<KafkaSubscription<never>, 'describeFailure'>>();
  private admin: Promise<Admin> | undefined;
  private readonly groupLag: GroupLagExporter | undefined;
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly timing: KafkaTiming,
    private readonly logger: BusLogger,
    replicationFactor: number,
    private readonly namespace: string,
    private readonly metrics: BusMetrics | undefined,
  ) {
    this.topics = new KafkaTopicRegistry(() => this.connectAdmin(), replicationFactor, logger, namespace);
    this.groupLag = metrics && new GroupLagExporter(() => this.connectAdmin(), metrics, logger);
  }

  static async connect(options: KafkaBusOptions): Promise<KafkaBus> {
    if (options.brokers.length === 0) throw new Error('KafkaBus: no brokers given');
    const timing: KafkaTiming = { ...KAFKA_DEFAULT_TIMING, ...options.timing };
    const logger = options.logger ?? stderrLogger();
    const kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      connectionTimeout: timing.connectionTimeoutMs,
      requestTimeout: timing.requestTimeoutMs,
      retry: { retries: timing.retries, initialRetryTime: timing.initialRetryTimeMs, maxRetryTime: timing.maxRetryTimeMs },
      logLevel: logLevel.INFO,
      logCreator: kafkaLogCreator(logger),
    });
    return KafkaBus.fromClient(kafka, { ...options, timing, logger });
  }

  /**
   * The bus on a kafkajs client configured by the caller (`connect` builds one from
   * `brokers`; unit tests pass a fake). The client's own settings (brokers, timeouts,
   * logging) are the caller's; `timing` still sets the consumers' and the producer's.
   */
  static async fromClient(kafka: Kafka, options: Omit<KafkaBusOptions, 'brokers' | 'clientId'> = {}): Promise<KafkaBus> {
    const timing: KafkaTiming = { ...KAFKA_DEFAULT_TIMING, ...options.timing };
    const logger = options.logger ?? stderrLogger();
    // Idempotent (acks=-1 forced): a retried produce request is written once, and the
    // per-broker lock kafkajs takes for idempotence keeps batches in order. Retries are
    // bounded so that publish() fails (and its caller can answer 5xx) instead of hanging
    // while the cluster is down; kafkajs warns that this weakens exactly-once, which we
    // never claim (consumers are idempotent).
    const producer = kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      // Unused (every message names its partition: OutgoingMessage); set so kafkajs does not warn.
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: timing.retries, initialRetryTime: timing.initialRetryTimeMs, maxRetryTime: timing.maxRetryTimeMs },
    });
    await connectWhenReady(producer, logger);
    if (options.namespace !== undefined && !/^[A-Za-z0-9._-]*$/.test(options.namespace)) {
      throw new Error(`KafkaBus: namespace "${options.namespace}" may only hold letters, digits, '.', '_' and '-'`);
    }
    return new KafkaBus(kafka, producer, timing, logger, options.replicationFactor ?? -1, options.namespace ?? '', options.metrics);
  }

  async ensureTopics(topics: readonly AnyTopic[]): Promise<void> {
    this.checkOpen();
    await this.topics.ensure(topics.map((t) => this.inNamespace(t)));
  }

  /** The topic as it is named on the cluster: the namespace before its name and dead-letter name. */
  private inNamespace<T extends AnyTopic>(topic: T): T {
    if (this.namespace === '') return topic;
    return Object.freeze({
      ...topic,
      name: this.namespace + topic.name,
      dlqName: topic.dlqName === undefined ? undefined : this.namespace + topic.dlqName,
    });
  }

  async publish<T>(logicalTopic: Topic<T>, messages: readonly T[], options: PublishOptions = {}): Promise<void> {
    this.checkOpen();
    const topic = this.inNamespace(logicalTopic);
    checkPublisherHeaders(options.headers);
    if (messages.length === 0) return;
    await this.topics.ensure([topic]);
    // Encode before the span: a codec failure is the caller's bug, not a publish failure.
    const encoded = messages.map((message) => ({ key: topic.key(message), value: toBuffer(topic.codec.encode(message)) }));
    await withPublishSpans(topic.name, 'kafka', messages.length, options.traceContexts, async (traceHeadersOf) => {
      await this.send(
        topic.name,
        encoded.map((m, index) => ({ key: m.key, partition: partitionForKey(m.key, topic.partitions), value: m.value, headers: { ...options.headers, ...traceHeadersOf(index) } })),
      );
    });
  }

  async subscribe<T>(logicalTopic: Topic<T>, logicalGroupId: string, handler: MessageHandler<T>, options?: SubscribeOptions): Promise<Subscription> {
    return this.join(logicalTopic, logicalGroupId, { handler }, resolveSubscribeOptions(options));
  }

  async subscribeBatches<T>(
    logicalTopic: Topic<T>,
    logicalGroupId: string,
    handler: BatchHandler<T>,
    options?: BatchSubscribeOptions,
  ): Promise<Subscription> {
    return this.join(logicalTopic, logicalGroupId, { batchHandler: handler }, resolveBatchSubscribeOptions(options));
  }

  private async join<T>(logicalTopic: Topic<T>, logicalGroupId: string, handlers: WorkerHandlers<T>, resolved: ResolvedSubscribeOptions): Promise<Subscription> {
    this.checkOpen();
    checkGroupId(logicalGroupId);
    const topic = this.inNamespace(logicalTopic);
    // One Kafka group per (group, topic): kafkajs assigns a group's partitions to its
    // members whatever topic each member subscribed to (README, "Groups").
    const groupId = `${this.namespace}${logicalGroupId}.${logicalTopic.name}`;
    await this.topics.ensure([topic]);
    const watched = { topic: topic.name, groupId, labels: { topic: logicalTopic.name, group: logicalGroupId } };
    const subscription = new KafkaSubscription<T>({
      kafka: this.kafka,
      topic,
      groupId,
      ...handlers,
      options: resolved,
      timing: this.timing,
      logger: this.logger,
      deadLetter: (source, message, headers) => this.deadLetter(source, message, headers),
      onStopped: (s) => {
        this.subscriptions.delete(s);
        this.groupLag?.unwatch(watched, logicalTopic.partitions);
      },
      metrics: this.metrics,
      metricLabels: watched.labels,
    });
    this.subscriptions.add(subscription);
    this.groupLag?.watch(watched);
    try {
      await subscription.start();
    } catch (err) {
      await subscription.stop();
      throw err;
    }
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.groupLag?.close();
    await this.producer.disconnect();
    if (this.admin) await (await this.admin).disconnect();
  }

  private async deadLetter(source: AnyTopic, message: RawMessage, headers: MessageHeaders): Promise<void> {
    // The worker never dead-letters from a topic without a dead-letter topic (a .dlq itself).
    if (source.dlqName === undefined) throw new Error(`${source.name} has no dead-letter topic`);
    await this.send(source.dlqName, [{ key: message.key, partition: partitionForKey(message.key, source.partitions), value: toBuffer(message.value), headers: { ...headers } }]);
  }

  private async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    let chunk: OutgoingMessage[] = [];
    let bytes = 0;
    for (const message of messages) {
      const size = message.value.byteLength + message.key.length + 64;
      if (chunk.length > 0 && (bytes + size > MAX_REQUEST_BYTES || chunk.length >= MAX_REQUEST_MESSAGES)) {
        await this.producer.send({ topic, acks: -1, messages: chunk });
        chunk = [];
        bytes = 0;
      }
      chunk.push(message);
      bytes += size;
    }
    if (chunk.length > 0) await this.producer.send({ topic, acks: -1, messages: chunk });
  }

  /**
   * For `/ready`: rejects while a subscription's consumer has crashed for good (it
   * consumes nothing until the process restarts, and a not-ready process gets restarted
   * or taken out of rotation), else one round trip to the cluster.
   */
  async ping(): Promise<void> {
    this.checkOpen();
    for (const subscription of this.subscriptions) {
      const failure = subscription.describeFailure();
      if (failure !== undefined) throw new Error(failure);
    }
    const admin = await this.connectAdmin();
    await admin.describeCluster();
  }

  async endOffsets(logicalTopic: AnyTopic): Promise<readonly bigint[]> {
    this.checkOpen();
    const topic = this.inNamespace(logicalTopic);
    await this.topics.ensure([topic]);
    const admin = await this.connectAdmin();
    const ends = Array.from({ length: logicalTopic.partitions }, () => 0n);
    for (const { partition, high } of await admin.fetchTopicOffsets(topic.name)) if (partition < ends.length) ends[partition] = BigInt(high);
    return ends;
  }

  private connectAdmin(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })().catch((err: unknown) => {
      this.admin = undefined;
      throw err;
    });
    return this.admin;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('KafkaBus is closed');
  }
}

/**
 * A broker that has just started is still electing its partitions' leaders for a few
 * seconds ("There is no leader for this topic-partition as we are in the middle of a
 * leadership election"), and the idempotent producer's first metadata request fails with
 * it once kafkajs's own retries are spent: the connect is retried for about 20 s more
 * while the broker is not ready (`isKafkaNotReady`).
 */
async function connectWhenReady(producer: Producer, logger: BusLogger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await producer.connect();
      return;
    } catch (err) {
      if (!isKafkaNotReady(err) || attempt >= 40) throw err;
      logger.log('info', 'bus: Kafka not ready yet; connecting again', { attempt, error: (err as Error).message });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
