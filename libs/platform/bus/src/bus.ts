import type { AnyTopic, Topic } from '@axon/contracts-kafka';

/**
 * The bus port: one contract, two implementations (Kafka for distributed deployments,
 * an in-process log durable in the database for the embedded default). See README.md for
 * the delivery guarantees; in short: at-least-once, ordered per key, concurrent across
 * keys, committed only up to the lowest unfinished message.
 */
export interface MessageBus {
  readonly kind: 'kafka' | 'in-process';

  /**
   * Creates the topics and their `<topic>.dlq` dead-letter topics if missing, with their
   * partition counts. Idempotent. `publish` and `subscribe` also do it on a topic's first
   * use, so calling this at boot only moves the cost (and any failure) earlier.
   */
  ensureTopics(topics: readonly AnyTopic[]): Promise<void>;

  /**
   * Appends `messages` to `topic`, each to the partition of its key. Resolves only once
   * every message is durable (Kafka: acknowledged by all in-sync replicas, idempotent
   * producer; in-process: the database transaction committed). Messages with the same key
   * keep their relative order. On rejection, any subset may have been written: callers
   * retry the whole call, and consumers are idempotent.
   */
  publish<T>(topic: Topic<T>, messages: readonly T[], options?: PublishOptions): Promise<void>;

  /**
   * Joins consumer group `groupId` on `topic` and starts delivering to `handler`.
   * Resolves once the subscription is running (for Kafka: joined the group).
   */
  subscribe<T>(
    topic: Topic<T>,
    groupId: string,
    handler: MessageHandler<T>,
    options?: SubscribeOptions,
  ): Promise<Subscription>;

  /**
   * As `subscribe`, but hands the handler several messages of a partition at once, for a
   * consumer that does the work of many messages in one go (a room server appending every
   * queued input of a partition in one transaction). The outcome applies to every message
   * of the batch.
   *
   * A batch is what one partition's worker takes when a slot of `concurrency` is free:
   * - `order: 'key'`: every message queued at that moment of every key that has nothing
   *   running, each key's messages in offset order, up to `maxBatch` in all; so a batch may
   *   hold several keys and several messages per key. The keys of a running batch are busy
   *   until it ends: a key never runs twice at once, its later messages wait for the batch.
   * - `order: 'partition'`: the oldest queued messages, consecutive in offset order.
   * The messages of a batch are in offset order; the batch takes one slot of `concurrency`.
   *
   * Outcomes: `ack` finishes every message. A transient failure (a dependency is
   * unavailable: `isTransientFailure`) makes the whole batch wait and come again, as a
   * single message does. Any other failure (a throw, `retry`, `deadLetter`) or a payload of
   * the batch that does not decode splits it: its messages are delivered again one at a
   * time (batches of one), in offset order, each under the rules of `subscribe` (retries,
   * `maxAttempts`, dead-lettering), so a poison message costs only itself. The batch's
   * attempt is not counted against them: alone, each starts again at attempt 1. A handler
   * must therefore be idempotent per message.
   *
   * Each message still gets its own CONSUMER span (`DeliveredMessage.traceHeaders`); the
   * handler runs once per batch, in the context of the first message's span. Observer
   * callbacks and consumer lag stay per message.
   */
  subscribeBatches<T>(
    topic: Topic<T>,
    groupId: string,
    handler: BatchHandler<T>,
    options?: BatchSubscribeOptions,
  ): Promise<Subscription>;

  /**
   * The offset the next message of each partition of `topic` will get (so everything
   * published before the call is below it), in partition order: what a consumer that has
   * applied up to `endOffsets - 1` has caught up with. One round trip.
   */
  endOffsets(topic: AnyTopic): Promise<readonly bigint[]>;

  /** One round trip to the backing store (the broker, or the database): for `/ready`. */
  ping(): Promise<void>;

  /**
   * Publishing inside the caller's own transaction, where the bus can: the in-process bus
   * keeps its log in a schema of the process's database, so a service whose data lives in
   * the same database (`database`, the object its DataSources come from) can append to
   * the log in the transaction that writes its data, and the messages are on the bus
   * exactly when that transaction commits (no outbox, no relay). `undefined` otherwise
   * (Kafka; another database): publish through an outbox.
   */
  transactionalPublisher?(database: object): TransactionalPublisher | undefined;

  /** Stops every subscription (draining, as `Subscription.stop`), then disconnects. */
  close(): Promise<void>;
}

/** SQL in a transaction the caller holds (a TypeORM `EntityManager` fits). */
export interface TransactionSql {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** Messages appended in a transaction, handed to `TransactionalPublisher.committed` once it committed. */
export interface StagedMessages {
  readonly topic: string;
  readonly count: number;
}

/** See `MessageBus.transactionalPublisher`. */
export interface TransactionalPublisher {
  /**
   * Appends `messages` to `topic` in `tx`: they commit or roll back with it, as `publish`
   * would write them otherwise (partitions, order, headers, trace spans). Until `tx`
   * commits, the log's offsets of the partitions written stay locked: other publishers to
   * them wait, so commit early. `topic` must exist (`ensureTopics`) before the transaction.
   */
  stage<T>(tx: TransactionSql, topic: Topic<T>, messages: readonly T[], options?: PublishOptions): Promise<StagedMessages>;
  /**
   * After the commit of the transaction that staged them: hands the messages to this
   * process's subscribers at once. A process that dies between the commit and this call
   * loses nothing: after its restart, subscriptions read the messages from the log.
   */
  committed(staged: StagedMessages): void;
}

/** Header values are UTF-8 strings, one value per name. Names starting `x-axon-` are the bus's own. */
export type MessageHeaders = Readonly<Record<string, string>>;

export interface PublishOptions {
  /** Added to every message; the trace context headers are added by the bus. */
  readonly headers?: MessageHeaders;
  /**
   * Per message (same length as `messages`), the trace context it continues, as
   * `currentTraceHeaders()` captured it where the message was decided (an outbox relay
   * publishing what other requests wrote). Messages sharing a context share one PRODUCER
   * span, a child of it; an empty entry starts a trace of its own. Default: every message
   * continues the active context.
   */
  readonly traceContexts?: readonly MessageHeaders[];
}

export interface DeliveredMessage<T> {
  readonly topic: string;
  readonly key: string;
  readonly value: T;
  readonly headers: MessageHeaders;
  readonly partition: number;
  /** Position in the partition, a decimal int64. */
  readonly offset: string;
  /** Publish time, ms since the epoch. */
  readonly timestamp: number;
  /** 1 on first delivery to this consumer instance, then 2, 3... on retries. */
  readonly attempt: number;
  /**
   * The trace context of this message's own CONSUMER span, as W3C headers (`traceparent`,
   * `tracestate`; empty without an OpenTelemetry SDK): what a handler stores with the work
   * it writes for this message (an outbox row), to be published later through
   * `PublishOptions.traceContexts`. In a batch, `currentTraceHeaders()` is the first
   * message's context only; this tells the messages apart.
   */
  readonly traceHeaders: MessageHeaders;
}

/** What a handler decides for a message (the bus edge's error mapping, STYLE.md "Errors"). */
export type HandlerOutcome =
  | { readonly kind: 'ack' }
  | { readonly kind: 'retry'; readonly delayMs?: number; readonly reason?: string }
  | { readonly kind: 'dead-letter'; readonly reason: string };

/** Done: the message counts as handled. */
export const ack: HandlerOutcome = Object.freeze({ kind: 'ack' });

/**
 * Try again later (transient failure). The message keeps its place: its key waits, and
 * its partition starts no new message until it is done. Without `delayMs` the
 * subscription's exponential backoff applies. After `maxAttempts` it is dead-lettered.
 */
export function retry(delayMs?: number, reason?: string): HandlerOutcome {
  return { kind: 'retry', ...(delayMs === undefined ? {} : { delayMs }), ...(reason === undefined ? {} : { reason }) };
}

/** Give up on this message (it can never succeed): it goes to `<topic>.dlq` and the partition moves on. */
export function deadLetter(reason: string): HandlerOutcome {
  return { kind: 'dead-letter', reason };
}

/** A thrown error or a rejected promise counts as `retry()` with the error as reason. */
export type MessageHandler<T> = (message: DeliveredMessage<T>) => Promise<HandlerOutcome> | HandlerOutcome;

/** Handles several delivered messages at once; the outcome applies to every one of them. */
export type BatchHandler<T> = (messages: readonly DeliveredMessage<T>[]) => Promise<HandlerOutcome> | HandlerOutcome;

export interface BackoffOptions {
  /** Delay before the 2nd attempt. Default 200 ms. */
  readonly initialMs?: number;
  /** Upper bound of the delay. Default 30 s. */
  readonly maxMs?: number;
  /** Growth per attempt. Default 2. */
  readonly factor?: number;
}

export interface SubscribeOptions {
  /** Handlers running at once per partition (different keys). Default 16. */
  readonly concurrency?: number;
  /**
   * `key` (default): each key strictly in order, keys interleaving freely (a key with a
   * long backlog does not starve the others, so with concurrency 1 messages of different
   * keys may still run out of offset order). `partition`: the whole partition strictly in
   * offset order, one message at a time (concurrency is then 1), for a consumer whose
   * applied position must be a low-water mark (sync's stream positions).
   */
  readonly order?: 'key' | 'partition';
  /** Attempts before a message is dead-lettered. Default 5. */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffOptions;
  /** Where a group with no committed offset starts. Default `earliest` (nothing published before the first start is missed). */
  readonly startFrom?: 'earliest' | 'latest';
  /** Messages fetched ahead per partition before fetching pauses. Default 1000. */
  readonly maxBufferedPerPartition?: number;
  /** How long `stop()` waits for running handlers before giving up on them. Default 30 s. */
  readonly drainTimeoutMs?: number;
  /** Delay between a message finishing and the commit of the new low-water mark (commits are batched). Default 500 ms. */
  readonly commitIntervalMs?: number;
  /** Instrumentation hooks (metrics, tests). Must not throw. */
  readonly observer?: SubscriptionObserver;
}

export interface BatchSubscribeOptions extends SubscribeOptions {
  /** Most messages handed to one call. Default 64. */
  readonly maxBatch?: number;
}

export interface SubscriptionObserver {
  /** Offsets committed for the group: `offset` is the next message to deliver after a restart. */
  committed?(partition: number, offset: string): void;
  /** Partitions this subscription owns after a (re)assignment. */
  assigned?(partitions: readonly number[]): void;
  /** A message was sent to `<topic>.dlq`. */
  deadLettered?(partition: number, offset: string, reason: string): void;
  /**
   * Messages of `partition` received by this subscription and not finished yet (running,
   * waiting for a retry, or queued behind their key or the concurrency limit) changed.
   */
  pending?(partition: number, count: number): void;
}

export interface Subscription {
  readonly topic: string;
  readonly groupId: string;
  /** Partitions currently owned by this subscription. */
  assignment(): readonly number[];
  /**
   * Graceful stop, for SIGTERM: stops fetching, cancels pending retries, waits for running
   * handlers (up to `drainTimeoutMs`), commits the low-water marks, leaves the group so the
   * remaining members take over. Idempotent.
   */
  stop(): Promise<void>;
}
