import type { AnyTopic } from '@axon/contracts-kafka';
import type { Admin, ITopicConfig } from 'kafkajs';
import type { BusLogger } from '../logger';
import { partitionCountBelowTopic, raiseWaitsForConsumers, raiseWithLag, type PartitionLag } from '../partition-count';
import { isKafkaNotReady } from './kafka-errors';

/** Short retention of `ephemeral` topics (typing, presence): one hour. */
const EPHEMERAL_RETENTION_MS = String(60 * 60 * 1000);

/**
 * Creates topics explicitly (the broker's auto-creation is off: a typo'd name must fail,
 * not silently appear with one partition), each with its `.dlq` twin of the same
 * partition count. Memoised per topic; a failure is forgotten so the next use retries.
 */
export class KafkaTopicRegistry {
  private readonly ensured = new Map<string, Promise<void>>();

  constructor(
    private readonly admin: () => Promise<Admin>,
    private readonly replicationFactor: number,
    private readonly logger: BusLogger,
    /** The bus's namespace: its topics are `<namespace><topic>`, its groups `<namespace><group>.<topic>`. */
    private readonly namespace = '',
  ) {}

  ensure(topics: readonly AnyTopic[]): Promise<void> {
    const missing = [...new Map(topics.filter((t) => !this.ensured.has(t.name)).map((t) => [t.name, t])).values()];
    if (missing.length > 0) {
      const created = this.create(missing);
      for (const topic of missing) {
        const mine = created.catch((err: unknown) => {
          this.ensured.delete(topic.name);
          throw err;
        });
        this.ensured.set(topic.name, mine);
      }
    }
    return Promise.all(topics.map((t) => this.ensured.get(t.name))).then(() => undefined);
  }

  /**
   * A broker that has just started, or topics another process is creating at the same
   * moment, answer with retriable errors for a few seconds ("This server does not host
   * this topic-partition", "There is no leader for this topic-partition"): retried for up
   * to about 15 s before the error is let through.
   */
  private async create(topics: readonly AnyTopic[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.createOnce(topics);
      } catch (err) {
        if (!isKafkaNotReady(err) || attempt >= 30) throw err;
        this.logger.log('info', 'bus: Kafka topics not ready yet; retrying', { topics: topics.map((t) => t.name), attempt, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async createOnce(topics: readonly AnyTopic[]): Promise<void> {
    const admin = await this.admin();
    // By name: a topic's dead-letter topic may also be passed itself (deadLetterTopic()).
    const byName = new Map<string, ITopicConfig>();
    for (const topic of topics) {
      const configEntries = topic.retention === 'ephemeral' ? [{ name: 'retention.ms', value: EPHEMERAL_RETENTION_MS }] : [];
      for (const name of [topic.name, ...(topic.dlqName === undefined ? [] : [topic.dlqName])]) {
        byName.set(name, { topic: name, numPartitions: topic.partitions, replicationFactor: this.replicationFactor, configEntries });
      }
    }
    const wanted = [...byName.values()];
    const existing = new Set(await admin.listTopics());
    const toCreate = wanted.filter((t) => !existing.has(t.topic));
    if (toCreate.length > 0) {
      // Resolves false when another process created them first; both are fine.
      await admin.createTopics({ topics: toCreate, waitForLeaders: true });
    }
    const metadata = await fetchMetadata(admin, wanted.map((t) => t.topic));
    const toRaise: Array<{ topic: string; count: number }> = [];
    for (const { name, partitions } of metadata.topics) {
      const expected = wanted.find((t) => t.topic === name)?.numPartitions;
      if (expected === undefined || partitions.length === expected) continue;
      if (partitions.length > expected) throw partitionCountBelowTopic(name, partitions.length, expected);
      const lag = raiseWaitsForConsumers(name) ? await this.lagOf(admin, name) : [];
      if (lag.length > 0) throw raiseWithLag(name, expected, lag);
      toRaise.push({ topic: name, count: expected });
    }
    if (toRaise.length > 0) await this.raise(admin, toRaise);
  }

  /** The partitions the bus's consumer groups of `topic` have not finished, from their committed offsets. */
  private async lagOf(admin: Admin, topic: string): Promise<PartitionLag[]> {
    const logical = topic.slice(this.namespace.length);
    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((id) => id.startsWith(this.namespace) && id.endsWith(`.${logical}`));
    if (ours.length === 0) return [];
    const ends = await admin.fetchTopicOffsets(topic);
    const lag: PartitionLag[] = [];
    for (const group of ours) {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      for (const { partition, high, low } of ends) {
        const done = byPartition.get(partition) ?? -1n;
        const left = BigInt(high) - (done >= 0n ? done : BigInt(low));
        if (left > 0n) lag.push({ group, partition, lag: left });
      }
    }
    return lag;
  }

  /**
   * Adds partitions up to the configured counts (`kafka.partitions` raised), and waits until
   * every new partition has a leader (a publish to one before that is refused). Replicas
   * starting together all try: the broker refuses the later ones (INVALID_PARTITIONS, the
   * count is already there), which is success if the topic now has the count.
   */
  private async raise(admin: Admin, topics: Array<{ topic: string; count: number }>): Promise<void> {
    try {
      await admin.createPartitions({ topicPartitions: topics, validateOnly: false });
    } catch (err) {
      const now = await fetchMetadata(admin, topics.map((t) => t.topic));
      if (!topics.every(({ topic, count }) => now.topics.find((t) => t.name === topic)?.partitions.length === count)) throw err;
    }
    for (let attempt = 1; ; attempt++) {
      const now = await fetchMetadata(admin, topics.map((t) => t.topic));
      let ready = topics.every(({ topic, count }) => {
        const partitions = now.topics.find((t) => t.name === topic)?.partitions ?? [];
        return partitions.length === count && partitions.every((p) => p.leader >= 0);
      });
      // Named as leader in the metadata is not yet leading: a broker answers "not the
      // leader" to offset requests for a new partition for a moment after that.
      if (ready) ready = await Promise.all(topics.map(({ topic }) => admin.fetchTopicOffsets(topic))).then(() => true, (err: unknown) => (isKafkaNotReady(err) ? false : Promise.reject(err)));
      if (ready) break;
      if (attempt >= 60) throw new Error(`the raised partitions of ${topics.map((t) => t.topic).join(', ')} have no leaders after 15 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const { topic, count } of topics) this.logger.log('info', 'bus: raised the partition count of a Kafka topic', { topic, to: count });
  }
}

/**
 * A topic another process created a moment ago may not be in every broker's metadata yet
 * (UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition"): replicas
 * starting together hit this, so it is retried for a few seconds.
 */
async function fetchMetadata(admin: Admin, topics: string[]): Promise<Awaited<ReturnType<Admin['fetchTopicMetadata']>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicMetadata({ topics });
    } catch (err) {
      const type = (err as { type?: unknown }).type;
      if ((type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
