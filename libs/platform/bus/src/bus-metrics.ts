import type { Metrics } from '@axon/platform-telemetry';

/**
 * What the bus reports about its consumers, when given (`metrics` of `KafkaBus.connect`
 * and `InProcessBus.open`). Implementations must not throw.
 */
export interface BusMetrics {
  /**
   * Messages of `partition` that group `group` has not finished yet: the partition's head
   * (Kafka: the high watermark of the last fetch) minus the group's low-water mark (the
   * offset a commit would write now).
   */
  consumerLag(topic: string, group: string, partition: number, lag: number): void;
  /** This process no longer consumes `partition` for `group`: its series goes (another member reports it). */
  forgetPartition(topic: string, group: string, partition: number): void;
  /**
   * Messages of `partition` after the offset `group` committed, read from the cluster by
   * every member whatever partitions it owns (Kafka only: `GroupLagExporter`).
   */
  groupLag(topic: string, group: string, partition: number, lag: number): void;
  /** This process has no member in `group` any more. */
  forgetGroupPartition(topic: string, group: string, partition: number): void;
}

/**
 * `hs_<app>_bus_consumer_lag_messages{topic,group,partition}` and
 * `hs_<app>_bus_group_lag_messages{topic,group,partition}`. Cardinality is bounded by
 * the topic registry (topics and their partition counts) and the consumer groups in code.
 */
export function createBusMetrics(metrics: Metrics): BusMetrics {
  const lag = metrics.gauge(
    'bus',
    'consumer_lag',
    'messages',
    'Messages of a partition not yet finished by a consumer group of this process (partition head minus the low-water mark)',
    ['topic', 'group', 'partition'],
  );
  const groupLag = metrics.gauge(
    'bus',
    'group_lag',
    'messages',
    'Messages of a partition after the offset its consumer group committed, read from the brokers by every member of the group (a dead member\'s partitions included); Kafka only',
    ['topic', 'group', 'partition'],
  );
  return {
    consumerLag: (topic, group, partition, value) => lag.set({ topic, group, partition: String(partition) }, value),
    forgetPartition: (topic, group, partition) => lag.remove({ topic, group, partition: String(partition) }),
    groupLag: (topic, group, partition, value) => groupLag.set({ topic, group, partition: String(partition) }, value),
    forgetGroupPartition: (topic, group, partition) => groupLag.remove({ topic, group, partition: String(partition) }),
  };
}
