import { DLQ_SUFFIX } from '@axon/contracts-kafka';

/**
 * A topic's partition count can only go up: the messages of removed partitions would be
 * out of every consumer's reach (producers and sync tokens use the configured count).
 */
export function partitionCountBelowTopic(topic: string, actual: number, configured: number): Error {
  return new Error(`topic ${topic} has ${actual} partitions but the configured count is ${configured}: a count cannot go down; set kafka.partitions for it to ${actual} or more`);
}

/** A consumer group's unconsumed messages in one partition. */
export interface PartitionLag {
  readonly group: string;
  readonly partition: number;
  readonly lag: bigint;
}

/**
 * Whether raising `topic` waits for its consumer groups to finish it. A raise moves keys to
 * other partitions: a room whose inputs were still queued in its old partition would have
 * them consumed beside its new ones in the new partition, by another replica, out of order.
 * So a topic is raised only when every group that consumes it is at its end. Dead-letter
 * topics are raised whatever their consumers left: their messages are parked, not ordered.
 */
export function raiseWaitsForConsumers(topic: string): boolean {
  return !topic.endsWith(DLQ_SUFFIX);
}

/** The error for a raise refused because consumer groups have not finished the topic. */
export function raiseWithLag(topic: string, configured: number, lag: readonly PartitionLag[]): Error {
  const shown = lag
    .slice(0, 5)
    .map((l) => `${l.group} partition ${l.partition}: ${l.lag}`)
    .join(', ');
  return new Error(
    `topic ${topic} is not raised to ${configured} partitions: its consumers have not consumed everything in it yet (${shown}${lag.length > 5 ? ', …' : ''}). ` +
      'Start with the count it has until they have (stop what sends, let the lag reach 0), then raise it: docs/deployment.md, "Raising a partition count"',
  );
}
