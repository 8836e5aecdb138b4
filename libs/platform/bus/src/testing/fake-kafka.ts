import type { EachBatchPayload, Kafka } from 'kafkajs';

/**
 * Just enough of a kafkajs client for unit tests of KafkaSubscription and KafkaBus
 * without a broker: the test drives the consumer (assignments, batches, crashes) and
 * scripts commit failures. Not a Kafka emulation: nothing is stored.
 */
export class FakeKafka {
  readonly consumers: FakeConsumer[] = [];
  readonly sent: { topic: string; messages: unknown[] }[] = [];
  /** Partitions the next consumer is assigned when it starts running. */
  initialAssignment: number[] = [0];

  consumer(): FakeConsumer {
    const consumer = new FakeConsumer(this.initialAssignment);
    this.consumers.push(consumer);
    return consumer;
  }

  /** How many of the next producer connects fail as against a broker still electing leaders. */
  failConnects = 0;

  producer(): object {
    return {
      connect: async () => {
        if (this.failConnects > 0) {
          this.failConnects--;
          const cause = Object.assign(new Error('There is no leader for this topic-partition as we are in the middle of a leadership election'), {
            name: 'KafkaJSProtocolError',
            type: 'LEADER_NOT_AVAILABLE',
            retriable: true,
          });
          throw Object.assign(new Error(cause.message), { name: 'KafkaJSNonRetriableError', retriable: false, cause });
        }
      },
      disconnect: async () => undefined,
      send: async (record: { topic: string; messages: unknown[] }) => {
        this.sent.push(record);
        return [];
      },
    };
  }

  /** How many of the next topic creations fail as a just-started broker's do (createTopics waiting for leaders). */
  failCreates = 0;

  admin(): object {
    const topics = new Map<string, number>();
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      listTopics: async () => [...topics.keys()],
      createTopics: async ({ topics: wanted }: { topics: { topic: string; numPartitions: number }[] }) => {
        if (this.failCreates > 0) {
          this.failCreates--;
          throw Object.assign(new Error('This server does not host this topic-partition'), { name: 'KafkaJSProtocolError', type: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true });
        }
        for (const t of wanted) topics.set(t.topic, t.numPartitions);
        return true;
      },
      fetchTopicMetadata: async ({ topics: names }: { topics: string[] }) => ({
        topics: names.map((name) => ({ name, partitions: Array.from({ length: topics.get(name) ?? 0 }, (_, partition) => ({ partitionId: partition })) })),
      }),
      describeCluster: async () => ({ brokers: [], controller: null, clusterId: 'fake' }),
    };
  }

  asKafka(): Kafka {
    return this as unknown as Kafka;
  }
}

type Listener = (event: { payload: Record<string, unknown> }) => void;

export class FakeConsumer {
  readonly events = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash' } as const;
  readonly commits: { partition: number; offset: string }[][] = [];
  readonly paused = new Set<number>();
  /** How many of the next commitOffsets calls fail. */
  failCommits = 0;
  disconnected = false;
  /** How many times `run` was called (a restart after a crash runs again). */
  runs = 0;
  private readonly listeners = new Map<string, Listener[]>();
  private topic = '';
  private eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;

  constructor(private readonly initialAssignment: number[]) {}

  on(event: string, listener: Listener): () => void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return () => undefined;
  }

  async connect(): Promise<void> {}

  async subscribe({ topics }: { topics: string[] }): Promise<void> {
    this.topic = topics[0]!;
  }

  /** Like kafkajs: resolves after the first join. */
  async run({ eachBatch }: { eachBatch: (payload: EachBatchPayload) => Promise<void> }): Promise<void> {
    this.runs++;
    this.eachBatch = eachBatch;
    this.assign(this.initialAssignment);
  }

  /** A rebalance handed this member `partitions`. */
  assign(partitions: number[]): void {
    this.emit(this.events.GROUP_JOIN, { memberAssignment: { [this.topic]: partitions } });
  }

  crash(error: Error, restart: boolean): void {
    this.emit(this.events.CRASH, { error, restart, groupId: 'fake' });
  }

  /**
   * Hands offsets `from`.. `from + keys.length - 1` of `partition` to eachBatch, one key
   * each, in a batch reporting `highWatermark` (default: one past the last of them).
   */
  async deliver(partition: number, from: number, keys: readonly string[], highWatermark = from + keys.length): Promise<void> {
    const messages = keys.map((key, i) => ({
      offset: String(from + i),
      key: Buffer.from(key),
      value: Buffer.from(JSON.stringify({ key, seq: from + i })),
      headers: {},
      timestamp: String(Date.now()),
    }));
    await this.eachBatch!({
      batch: { topic: this.topic, partition, messages, highWatermark: String(highWatermark) },
      resolveOffset: () => undefined,
    } as unknown as EachBatchPayload);
  }

  pause(topics: { partitions?: number[] }[]): void {
    for (const t of topics) for (const p of t.partitions ?? []) this.paused.add(p);
  }

  resume(topics: { partitions?: number[] }[]): void {
    for (const t of topics) for (const p of t.partitions ?? []) this.paused.delete(p);
  }

  async commitOffsets(offsets: { partition: number; offset: string }[]): Promise<void> {
    if (this.failCommits > 0) {
      this.failCommits--;
      throw new Error('The group is rebalancing, so a rejoin is needed');
    }
    this.commits.push(offsets.map(({ partition, offset }) => ({ partition, offset })));
  }

  async disconnect(): Promise<void> {
    this.disconnected = true;
  }

  /** The last offset committed for `partition`, if any. */
  lastCommit(partition: number): string | undefined {
    let last: string | undefined;
    for (const batch of this.commits) for (const c of batch) if (c.partition === partition) last = c.offset;
    return last;
  }

  private emit(event: string, payload: Record<string, unknown>): void {
    for (const listener of this.listeners.get(event) ?? []) listener({ payload });
  }
}
