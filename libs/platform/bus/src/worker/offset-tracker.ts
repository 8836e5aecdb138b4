/**
 * The low-water mark of one partition: the offset of the lowest message not yet finished,
 * which is what gets committed (the committed offset is "the next message to deliver
 * after a restart"). Messages finish out of order (different keys run concurrently), so a
 * finished message above an unfinished one is not committable yet: after a crash it is
 * delivered again. That is the at-least-once price for never losing the unfinished one.
 */
export class OffsetTracker {
  /** Tracked offsets in ascending order; finished ones are dropped from the front. */
  private entries: { offset: bigint; done: boolean }[] = [];
  private head = 0;
  private readonly byOffset = new Map<bigint, { offset: bigint; done: boolean }>();
  private next: bigint | undefined;

  /** One past the highest offset tracked so far (undefined before the first). */
  get nextOffset(): bigint | undefined {
    return this.next;
  }

  /** Entries held, finished ones not dropped yet included: what the tracker costs in memory. */
  get retained(): number {
    return this.entries.length;
  }

  /** Messages tracked and not finished. */
  get pending(): number {
    return this.byOffset.size;
  }

  /** Offsets must increase (gaps are fine: compaction, transaction markers). */
  track(offset: bigint): void {
    if (this.next !== undefined && offset < this.next) {
      throw new Error(`OffsetTracker: offset ${offset} is not above ${this.next - 1n}`);
    }
    const entry = { offset, done: false };
    this.entries.push(entry);
    this.byOffset.set(offset, entry);
    this.next = offset + 1n;
  }

  /** Marks `offset` finished; returns true if the low-water mark moved. */
  finish(offset: bigint): boolean {
    const entry = this.byOffset.get(offset);
    if (!entry) return false;
    this.byOffset.delete(offset);
    entry.done = true;
    let moved = false;
    while (this.head < this.entries.length && this.entries[this.head]!.done) {
      this.head++;
      moved = true;
    }
    if (this.head === this.entries.length) {
      // All finished, the usual case between bursts: nothing is worth keeping. Before, up
      // to 1,024 finished entries stayed per partition and consumer group (92 trackers in
      // the embedded homeserver, 5,226 entries after 20,000 `npm run fuzz` requests).
      this.entries = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return moved;
  }

  /** The offset to commit: the lowest unfinished one, or one past the last if all finished. */
  lowWaterMark(): bigint | undefined {
    const first = this.entries[this.head];
    return first ? first.offset : this.next;
  }
}
