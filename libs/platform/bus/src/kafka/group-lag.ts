import type { Admin } from 'kafkajs';
import type { BusMetrics } from '../bus-metrics';
import { errorFields, type BusLogger } from '../logger';
import { isKafkaNotReady } from './kafka-errors';

/** How often the groups' committed offsets are read. Two admin requests per topic and group each time. */
export const GROUP_LAG_INTERVAL_MS = 5_000;

/** A consumer group of this process on one topic, by its Kafka names and its metric labels. */
export interface WatchedGroup {
  readonly topic: string;
  readonly groupId: string;
  readonly labels: { readonly topic: string; readonly group: string };
}

/**
 * The lag of a consumer group as the cluster sees it: every partition's end offset minus
 * the group's committed offset (the low-water mark when the group never committed),
 * read from the brokers every few seconds by every process that has a member in the
 * group. `bus_consumer_lag_messages` is reported by the member that owns a partition,
 * from its own progress, so when a member dies its partitions' lag vanishes until their
 * next owner fetches: exactly while they stall. This one keeps reporting them, since any
 * live member reads the group's committed offsets; it is what an autoscaler or an alert on
 * lag should use (`max by (topic, group, partition)` across the members). It trails the
 * owner's own figure by up to the commit interval plus the reading interval.
 */
export class GroupLagExporter {
  private readonly groups = new Map<string, WatchedGroup>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly admin: () => Promise<Admin>,
    private readonly metrics: BusMetrics,
    private readonly logger: BusLogger,
    private readonly intervalMs = GROUP_LAG_INTERVAL_MS,
  ) {}

  watch(group: WatchedGroup): void {
    this.groups.set(`${group.groupId}\u0000${group.topic}`, group);
    if (this.timer === undefined) {
      this.timer = setInterval(() => {
        this.running ??= this.report().finally(() => (this.running = undefined));
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  unwatch(group: WatchedGroup, partitions: number): void {
    this.groups.delete(`${group.groupId}\u0000${group.topic}`);
    for (let partition = 0; partition < partitions; partition++) this.metrics.forgetGroupPartition(group.labels.topic, group.labels.group, partition);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One reading of every watched group; a failure (a broker outage) is logged and the next tick tries again. */
  async report(): Promise<void> {
    try {
      const admin = await this.admin();
      const ends = new Map<string, Promise<Array<{ partition: number; high: string; low: string }>>>();
      for (const group of [...this.groups.values()]) {
        if (!ends.has(group.topic)) ends.set(group.topic, admin.fetchTopicOffsets(group.topic));
        const [topicEnds, [committed]] = await Promise.all([
          ends.get(group.topic)!,
          whenReady(() => admin.fetchOffsets({ groupId: group.groupId, topics: [group.topic] })),
        ]);
        const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
        for (const { partition, high, low } of topicEnds) {
          const done = byPartition.get(partition) ?? -1n;
          const position = done >= 0n ? done : BigInt(low);
          const lag = BigInt(high) > position ? Number(BigInt(high) - position) : 0;
          this.metrics.groupLag(group.labels.topic, group.labels.group, partition, lag);
        }
      }
    } catch (err) {
      this.logger.log('warn', 'bus: reading the consumer groups’ committed offsets failed; the group lag is reported again at the next reading', errorFields(err));
    }
  }
}

/**
 * kafkajs does not retry an offset fetch the group coordinator answers with "loading" (it
 * does on a fresh cluster for the first second or so, while it loads `__consumer_offsets`),
 * so a reading would be lost to a warning and a five-second gap; a few short retries cover it.
 */
async function whenReady<T>(read: () => Promise<T>, attempts = 5, delayMs = 250): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= attempts || !isKafkaNotReady(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, delayMs * attempt));
    }
  }
}
