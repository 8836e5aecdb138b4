import { performance } from 'node:perf_hooks';
import type { BucketState } from '../token-bucket';
import { LruTtlStore } from './lru-ttl-store';

export interface InProcessBackendOptions {
  /** Cache entries kept before the least recently used is evicted. Default 10 000. */
  readonly maxEntries?: number;
  /** How often expired cache entries and idle rate-limit buckets are dropped. Default 30 s. */
  readonly sweepIntervalMs?: number;
  /** A monotonic clock in milliseconds; tests inject a fake one. Default `performance.now`. */
  readonly now?: () => number;
}

/** One live subscription on the in-process hub. */
export interface HubSubscription {
  readonly channel: string;
  readonly deliver: (payload: string, channel: string) => void;
  active: boolean;
}

export interface StoredBucket {
  readonly state: BucketState;
  readonly idleAtMs: number;
}

/**
 * The state that in-process cache clients share, standing in for the Redis server: every
 * client created on one backend sees the same channels, entries and buckets, just as
 * replicas see one Redis. Embedded mode creates one backend per process and hands it to
 * every module, so a wake-up published by one service reaches long-polls in another.
 *
 * The sweep timer runs only while at least one client is attached, and is `unref`'d so it
 * never keeps the process alive on its own.
 */
export class InProcessBackend {
  readonly now: () => number;
  readonly entries: LruTtlStore;
  readonly buckets = new Map<string, StoredBucket>();
  readonly channels = new Map<string, Set<HubSubscription>>();
  private readonly sweepIntervalMs: number;
  private attached = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: InProcessBackendOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.entries = new LruTtlStore(options.maxEntries ?? 10_000, this.now);
    this.sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
    if (!Number.isFinite(this.sweepIntervalMs) || this.sweepIntervalMs <= 0) {
      throw new RangeError(`sweepIntervalMs must be a finite number > 0, got ${this.sweepIntervalMs}`);
    }
  }

  /** Registers a client; returns its (idempotent) detach function. */
  attach(): () => void {
    this.attached += 1;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.sweepIntervalMs);
      this.timer.unref();
    }
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      this.attached -= 1;
      if (this.attached === 0 && this.timer !== undefined) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** Whether the sweep timer is running (for tests of the attach/detach lifecycle). */
  get sweeping(): boolean {
    return this.timer !== undefined;
  }

  /** Drops expired entries and buckets that have refilled (a missing bucket is full). */
  sweep(): void {
    this.entries.sweep();
    const now = this.now();
    for (const [key, bucket] of this.buckets) {
      if (bucket.idleAtMs <= now) this.buckets.delete(key);
    }
  }

  /** Adds a subscription to the hub. */
  addSubscription(subscription: HubSubscription): void {
    let set = this.channels.get(subscription.channel);
    if (set === undefined) {
      set = new Set();
      this.channels.set(subscription.channel, set);
    }
    set.add(subscription);
  }

  /** Removes a subscription; later and already-queued deliveries to it are dropped. */
  removeSubscription(subscription: HubSubscription): void {
    subscription.active = false;
    const set = this.channels.get(subscription.channel);
    if (set === undefined) return;
    set.delete(subscription);
    if (set.size === 0) this.channels.delete(subscription.channel);
  }

  /**
   * Queues delivery to the channel's current subscribers. Delivery happens on a later
   * microtask, never inside `publish`, like a network round trip: a publisher that holds a
   * lock or is mid-update is not re-entered by its own subscribers.
   */
  publish(channel: string, payload: string, logicalChannel: string): void {
    const set = this.channels.get(channel);
    if (set === undefined) return;
    const targets = [...set];
    queueMicrotask(() => {
      for (const target of targets) {
        if (target.active) target.deliver(payload, logicalChannel);
      }
    });
  }
}

export function createInProcessBackend(options: InProcessBackendOptions = {}): InProcessBackend {
  return new InProcessBackend(options);
}
