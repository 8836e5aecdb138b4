import type { BusMetrics } from '../bus-metrics';

/**
 * The lag of one subscription's partitions, shared by both implementations: each knows
 * its partitions' heads its own way (Kafka from each fetched batch's high watermark, the
 * in-process log from its appends) and reports them here with `head`; the partition
 * worker's low-water mark is the position. Without metrics every call is a no-op.
 */
export class ConsumerLag {
  private readonly heads = new Map<number, bigint>();

  constructor(
    private readonly metrics: BusMetrics | undefined,
    private readonly topic: string,
    private readonly group: string,
  ) {}

  get enabled(): boolean {
    return this.metrics !== undefined;
  }

  /** The partition's head (one past its last message) is at least `next`. */
  head(partition: number, next: bigint): void {
    if (!this.metrics) return;
    const known = this.heads.get(partition);
    if (known === undefined || next > known) this.heads.set(partition, next);
  }

  /** Reports the lag of `partition` for a group now at `position` (the lowest offset not finished). */
  update(partition: number, position: bigint | undefined): void {
    if (!this.metrics || position === undefined) return;
    const head = this.heads.get(partition);
    if (head === undefined) return;
    const lag = head > position ? Number(head - position) : 0;
    this.metrics.consumerLag(this.topic, this.group, partition, lag);
  }

  /** The partition is not ours any more. */
  forget(partition: number): void {
    if (!this.metrics) return;
    if (this.heads.delete(partition)) this.metrics.forgetPartition(this.topic, this.group, partition);
  }

  forgetAll(): void {
    for (const partition of [...this.heads.keys()]) this.forget(partition);
  }
}
