import { bytesCodec, type Codec } from './codec';

/**
 * Topic names are `hs.<domain>[.<fact>].v<N>`: lowercase segments of letters, digits and
 * hyphens (`hs.room.input.v1`, `hs.account-data.v1`). The version is part of the name:
 * an incompatible payload change is a new topic, consumed side by side with the old one
 * until it drains.
 */
export const TOPIC_NAME_PATTERN = /^hs(?:\.[a-z][a-z0-9-]*){1,2}\.v[1-9][0-9]*$/;

/** Suffix of a topic's dead-letter topic: `hs.room.input.v1` → `hs.room.input.v1.dlq`. */
export const DLQ_SUFFIX = '.dlq';

/**
 * `durable`: the broker's normal retention (facts that consumers must all see).
 * `ephemeral`: short retention (typing, presence), never part of the durable room log.
 */
export type TopicRetention = 'durable' | 'ephemeral';

export interface TopicDefinition<T> {
  readonly name: string;
  /**
   * Partition count the topic is created with (the unit of parallelism per consumer
   * group), unless the deployment configures another (`kafka.partitions`,
   * `configurePartitionCounts`): a topic's `partitions` is the deployment's count.
   */
  readonly partitions: number;
  /**
   * The partition key: messages with the same key land in the same partition and are
   * handled strictly in order (the room ID for room topics, the user ID for per-user ones).
   */
  key(message: T): string;
  readonly codec: Codec<T>;
  readonly retention?: TopicRetention;
}

export interface Topic<T> extends TopicDefinition<T> {
  readonly retention: TopicRetention;
  /**
   * Name of the dead-letter topic (`<name>.dlq`). Undefined for a dead-letter topic
   * itself (`deadLetterTopic()`): it has none, so dead-lettering can never loop.
   */
  readonly dlqName: string | undefined;
}

export function isValidTopicName(name: string): boolean {
  return TOPIC_NAME_PATTERN.test(name);
}

export function dlqTopicName(topicName: string): string {
  return `${topicName}${DLQ_SUFFIX}`;
}

/** The largest partition count a topic may have. */
export const MAX_PARTITIONS = 10_000;

/**
 * The deployment's partition counts, by topic name, where they differ from the topics'
 * definitions. Every process of a deployment must use the same counts (producers pick a
 * message's partition from its key and the count; sync tokens hold a position per
 * partition), so they are configuration, set once at boot before the bus opens.
 */
const configuredCounts = new Map<string, number>();

function checkPartitions(name: string, partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new Error(`topic "${name}": partitions must be an integer in 1..${MAX_PARTITIONS}, got ${partitions}`);
  }
}

/**
 * Sets the deployment's partition counts (`kafka.partitions`), replacing earlier ones; a
 * topic not named keeps its definition's count. `known` are the topics that may be named
 * (the registry). Throws, changing nothing, on an unknown topic or a count out of range.
 */
export function setPartitionCounts(counts: Readonly<Record<string, number>>, known: readonly AnyTopic[]): void {
  const names = new Set(known.map((topic) => topic.name));
  for (const [name, partitions] of Object.entries(counts)) {
    if (!names.has(name)) throw new Error(`kafka.partitions names "${name}", which is not a topic (topics: ${[...names].sort().join(', ')})`);
    checkPartitions(name, partitions);
  }
  configuredCounts.clear();
  for (const [name, partitions] of Object.entries(counts)) configuredCounts.set(name, partitions);
}

/** The one way to make a topic: checks the naming rule and the partition count. */
export function defineTopic<T>(definition: TopicDefinition<T>): Topic<T> {
  if (!isValidTopicName(definition.name)) {
    throw new Error(`topic name "${definition.name}" does not match hs.<domain>[.<fact>].v<N>`);
  }
  checkPartitions(definition.name, definition.partitions);
  const topic = { ...definition, retention: definition.retention ?? 'durable', dlqName: dlqTopicName(definition.name) };
  Object.defineProperty(topic, 'partitions', { enumerable: true, get: () => configuredCounts.get(definition.name) ?? definition.partitions });
  return Object.freeze(topic);
}

/**
 * The dead-letter topic of `topic`, for tools and tests that read it. Its payload is the
 * original message's bytes, untouched (they may be exactly what failed to decode), and
 * its key the original key. Only the bus writes to it: `key()` throws. It has no
 * dead-letter topic of its own (`dlqName` is undefined): a consumer of it that gives up
 * on a message (`deadLetter(reason)`, or its retries exhausted) gets an error logged and
 * the message acknowledged. It is parked already; parking it again would loop.
 */
export function deadLetterTopic(topic: AnyTopic): Topic<Uint8Array> {
  const name = topic.dlqName;
  if (name === undefined) throw new Error(`${topic.name} is a dead-letter topic: it has no dead-letter topic of its own`);
  return Object.freeze({
    name,
    get partitions(): number {
      return topic.partitions;
    },
    key(): string {
      throw new Error(`${name} is written by the bus only`);
    },
    codec: bytesCodec,
    retention: topic.retention,
    dlqName: undefined,
  });
}

/**
 * A topic of any payload type, for code that only needs names, partition counts and
 * bytes (topic creation, dead-lettering). `key` and `encode` are declared as methods,
 * so every `Topic<T>` is assignable to it.
 */
export type AnyTopic = Topic<unknown>;
