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
    return this.takeBatch(1, skip)[0];
  }

  /**
   * Takes, key after key in the order they became ready, every queued item of each key
   * with nothing out, up to `max` items in all (the last key taken may keep the rest of
   * its queue), marking each key taken busy: one `release` per key. Keys for which `skip`
   * returns true are passed over and stay ready (at the back). Empty if no key is ready.
   */
  takeBatch(max: number, skip?: (key: string) => boolean): { key: string; item: T }[] {
    const skipped: string[] = [];
    const taken: { key: string; item: T }[] = [];
    while (taken.length < max && this.readyHead < this.ready.length) {
      const key = this.ready[this.readyHead++]!;
      const queue = this.queues.get(key);
      if (!queue || queue.length === 0) continue;
      if (skip?.(key)) {
        skipped.push(key);
        continue;
      }
      const items = takeFront(queue, max - taken.length);
      if (queue.length === 0) this.queues.delete(key);
      this.busy.add(key);
      this.queued -= items.length;
      for (const item of items) taken.push({ key, item });
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
    return this.takeOldest(1, position)[0];
  }

  /**
   * Takes the `max` items that `position` orders first among the queues of the keys with
   * nothing out (a merge of their queues), in that order, marking each key taken busy: one
   * `release` per key. Empty if no key is ready.
   */
  takeOldest(max: number, position: (item: T) => bigint): { key: string; item: T }[] {
    const heads: { key: string; queue: T[]; next: number }[] = [];
    for (let index = this.readyHead; index < this.ready.length; index++) {
      const key = this.ready[index]!;
      const queue = this.queues.get(key);
      if (queue && queue.length > 0) heads.push({ key, queue, next: 0 });
    }
    const taken: { key: string; item: T }[] = [];
    while (taken.length < max) {
      let best: { head: (typeof heads)[number]; at: bigint } | undefined;
      for (const head of heads) {
        if (head.next === head.queue.length) continue;
        const at = position(head.queue[head.next]!);
        if (best === undefined || at < best.at) best = { head, at };
      }
      if (best === undefined) break;
      taken.push({ key: best.head.key, item: best.head.queue[best.head.next++]! });
    }
    const used = new Set<string>();
    for (const head of heads) {
      if (head.next === 0) continue;
      takeFront(head.queue, head.next);
      if (head.queue.length === 0) this.queues.delete(head.key);
      this.busy.add(head.key);
      this.queued -= head.next;
      used.add(head.key);
    }
    if (used.size > 0) {
      this.ready = this.ready.slice(this.readyHead).filter((key) => !used.has(key));
      this.readyHead = 0;
    }
    return taken;
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

/**
 * Removes and returns the first `count` items of `queue` (all if fewer). A key's queue can
 * be thousands long: `shift` is cheap at the front of a V8 array, a `splice(0, n)` copies
 * the rest every time.
 */
function takeFront<T>(queue: T[], count: number): T[] {
  if (count >= queue.length) return queue.splice(0);
  const items: T[] = [];
  for (let i = 0; i < count; i++) items.push(queue.shift()!);
  return items;
}
