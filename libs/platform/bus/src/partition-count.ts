/**
 * The error for a topic whose partition count differs from the deployment's count for it
 * (`kafka.partitions`, or the topic's definition). A count is fixed once the topic exists:
 * producers map keys to partitions with it, sync tokens hold a position per partition, and
 * the sync read model keeps each room's events in one partition, so changing it under a
 * running deployment would move rooms between partitions (docs/deployment.md, "Kafka
 * topics"). Refused at start, before any service uses the topic.
 */
export function partitionCountMismatch(topic: string, actual: number, configured: number): Error {
  return new Error(
    `topic ${topic} has ${actual} partitions but the configured count is ${configured}; a topic keeps the count it was created with: set kafka.partitions for it to ${actual}`,
  );
}
