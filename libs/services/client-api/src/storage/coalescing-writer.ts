interface PendingWrite<T> {
  readonly row: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for independent rows: a row written while an insert is in flight waits for
 * it, then goes in the next insert with every other row that arrived meanwhile, so N
 * concurrent writers cost about two statements instead of N, and a lone writer is not
 * delayed at all (its insert starts at once). Each `write` resolves only once the
 * statement carrying its row has committed, so a caller that answers after it still
 * answers only once its own row is durable; a failed statement rejects exactly the writes
 * it carried.
 */
export class CoalescingWriter<T> {
  private queue: PendingWrite<T>[] = [];
  private draining = false;

  /** `insert` writes all its rows in one statement; `maxRows` bounds a statement's size. */
  constructor(
    private readonly insert: (rows: readonly T[]) => Promise<void>,
    private readonly maxRows = 500,
  ) {}

  write(row: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.maxRows);
      this.queue = this.queue.slice(batch.length);
      try {
        await this.insert(batch.map((pending) => pending.row));
        for (const pending of batch) pending.resolve();
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.draining = false;
  }
}
