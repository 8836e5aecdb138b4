import type { AnyTopic } from '@axon/contracts-kafka';
import type { Admin, ITopicConfig } from 'kafkajs';
import type { BusLogger } from '../logger';
import { partitionCountMismatch } from '../partition-count';
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
    for (const { name, partitions } of metadata.topics) {
      const expected = wanted.find((t) => t.topic === name)?.numPartitions;
      if (expected !== undefined && partitions.length !== expected) throw partitionCountMismatch(name, partitions.length, expected);
    }
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
