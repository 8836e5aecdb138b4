/**
 * Per-key FIFO queues with at most one item per key out at a time: items of one key come
 * out strictly in insertion order, one after the other; items of different keys
 * interleave freely. Keys become ready in the order they became unblocked, so a key with
 * a long backlog does not starve the others.
 */
export class KeyQueue<T> {
  private readonly queues = new Map<string, T[]>();
  private readonly busy = new Set<string>();
  /** Keys with queued items and nothing out. Each key appears at most once. */
  private ready: string[] = [];
  private readyHead = 0;
  private queued = 0;

  get size(): number {
    return this.queued;
  }

  push(key: string, item: T): void {
    const queue = this.queues.get(key);
    if (queue) {
      queue.push(item);
    } else {
      this.queues.set(key, [item]);
      if (!this.busy.has(key)) this.ready.push(key);
    }
    this.queued++;
  }

  /**
   * Takes the next item whose key has nothing out, marking that key busy; undefined if none.
   * Keys for which `skip` returns true are passed over and stay ready (at the back).
   */
  take(skip?: (key: string) => boolean): { key: string; item: T } | undefined {
    const skipped: string[] = [];
    let taken: { key: string; item: T } | undefined;
    while (this.readyHead < this.ready.length) {
      const key = this.ready[this.readyHead++]!;
      const queue = this.queues.get(key);
      if (!queue || queue.length === 0) continue;
      if (skip?.(key)) {
        skipped.push(key);
        continue;
      }
      const item = queue.shift()!;
      if (queue.length === 0) this.queues.delete(key);
      this.busy.add(key);
      this.queued--;
      taken = { key, item };
      break;
    }
    for (const key of skipped) this.ready.push(key);
    this.compact();
    return taken;
  }

  /**
   * Takes the item that `position` orders first among the keys with nothing out (their
   * queues' heads), marking its key busy: strict position order across keys instead of
   * fairness. Undefined if no key is ready.
   */
  takeFirst(position: (item: T) => bigint): { key: string; item: T } | undefined {
    let best: { key: string; at: number; position: bigint } | undefined;
    for (let index = this.readyHead; index < this.ready.length; index++) {
      const key = this.ready[index]!;
      const head = this.queues.get(key)?.[0];
      if (head === undefined) continue;
      const at = position(head);
      if (best === undefined || at < best.position) best = { key, at: index, position: at };
    }
    if (best === undefined) return undefined;
    this.ready.splice(best.at, 1);
    const queue = this.queues.get(best.key)!;
    const item = queue.shift()!;
    if (queue.length === 0) this.queues.delete(best.key);
    this.busy.add(best.key);
    this.queued--;
    return { key: best.key, item };
  }

  /** The item taken for `key` is finished: its next item (if any) becomes ready. */
  release(key: string): void {
    if (!this.busy.delete(key)) throw new Error(`KeyQueue.release: key "${key}" is not busy`);
    if (this.queues.has(key)) this.ready.push(key);
  }

  /** Drops every queued item (items taken stay busy until released). */
  clear(): void {
    this.queues.clear();
    this.ready = [];
    this.readyHead = 0;
    this.queued = 0;
  }

  private compact(): void {
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
  }
}
