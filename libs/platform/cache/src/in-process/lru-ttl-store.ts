import type { CacheValue } from '../ports';

interface Entry {
  readonly value: CacheValue;
  readonly expiresAtMs: number;
}

/**
 * A bounded map with per-entry expiry. A Map iterates in insertion order, so re-inserting
 * an entry on every read makes the first key the least recently used one: LRU eviction
 * without a linked list. Expiry is lazy (checked on read) plus a periodic `sweep()` so
 * entries nobody reads again do not hold memory until they are evicted.
 */
export class LruTtlStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be an integer >= 1, got ${maxEntries}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CacheValue | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAtMs <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: CacheValue, ttlMs: number): void {
    this.entries.delete(key);
    // Copy bytes in and (see get callers) out: like a network cache, callers that mutate
    // their Buffer afterwards must not change what is cached.
    const stored = typeof value === 'string' ? value : Buffer.from(value);
    this.entries.set(key, { value: stored, expiresAtMs: this.now() + ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  /** `true` when a live (unexpired) entry was removed. */
  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    return entry.expiresAtMs > this.now();
  }

  /** Drops every expired entry; returns how many. */
  sweep(): number {
    const now = this.now();
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAtMs <= now) {
        this.entries.delete(key);
        removed += 1;
      }
    }
    return removed;
  }
}
