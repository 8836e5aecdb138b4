interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

export interface GroupCommitOptions<T> {
  /** Most items (or most `weight`) in one commit. Default 1,000 items. */
  readonly maxWeight?: number;
  /** An item's share of `maxWeight` (rows it writes, say). Default 1. */
  readonly weight?: (item: T) => number;
  /**
   * Whether a failed shared commit is tried again one item at a time, so that only the
   * items that cannot be written fail. Default: always. Return false for failures every
   * item would meet alike (the database unreachable), which then fail them all at once.
   */
  readonly retryAlone?: (error: unknown) => boolean;
}

/**
 * Group commit. An item submitted while no commit runs is committed at once, alone; items
 * submitted while one runs wait for it and are then committed together, in submission
 * order, by one call of `commit` (one transaction, one multi-row statement: whatever the
 * caller makes of a list). Under N concurrent writers that is about two commits instead of
 * N, and a lone writer waits for nothing. Each `submit` resolves with its own item's result
 * only once the commit carrying it succeeded; a failed shared commit is retried item by
 * item (`retryAlone`), so one bad item fails only its own caller.
 */
export class GroupCommit<T, R> {
  private waiting: Pending<T, R>[] = [];
  private running: Promise<void> | undefined;
  private readonly maxWeight: number;
  private readonly weight: (item: T) => number;
  private readonly retryAlone: (error: unknown) => boolean;

  /** `commit` writes every item in one go and returns one result per item, in order. */
  constructor(
    private readonly commit: (items: readonly T[]) => Promise<readonly R[]>,
    options: GroupCommitOptions<T> = {},
  ) {
    this.maxWeight = options.maxWeight ?? 1000;
    this.weight = options.weight ?? (() => 1);
    this.retryAlone = options.retryAlone ?? (() => true);
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.running ??= this.run();
    });
  }

  /** Resolves once nothing waits or runs. */
  async drained(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    try {
      while (this.waiting.length > 0) await this.commitGroup(this.takeGroup());
    } finally {
      this.running = undefined;
    }
  }

  /** The oldest waiting items up to `maxWeight` (at least one, however heavy). */
  private takeGroup(): Pending<T, R>[] {
    let total = 0;
    let count = 0;
    for (const pending of this.waiting) {
      const weight = this.weight(pending.item);
      if (count > 0 && total + weight > this.maxWeight) break;
      total += weight;
      count++;
    }
    return this.waiting.splice(0, count);
  }

  private async commitGroup(group: readonly Pending<T, R>[]): Promise<void> {
    let results: readonly R[];
    try {
      results = await this.commit(group.map((pending) => pending.item));
    } catch (error) {
      if (group.length === 1 || !this.retryAlone(error)) {
        for (const pending of group) pending.reject(error);
        return;
      }
      // The shared commit wrote nothing: find out whose item failed.
      for (const pending of group) await this.commitGroup([pending]);
      return;
    }
    group.forEach((pending, index) => pending.resolve(results[index]!));
  }
}
