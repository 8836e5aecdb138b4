/**
 * The three ports of the cache platform library. Each has an in-process implementation
 * (embedded mode, unit tests) and a Redis one (distributed mode); both pass the same
 * contract suites in `./testing`.
 */

/** Called with each payload published on a channel the listener is subscribed to. */
export type WakeupListener = (payload: string, channel: string) => void | Promise<void>;

/** Stops one subscription. Idempotent. */
export type Unsubscribe = () => Promise<void>;

/**
 * Pub/sub wake-ups between replicas, e.g. to wake a `/sync` long-poll when a new event for
 * its user arrives.
 *
 * Delivery is at most once and only to subscriptions that exist when the message is
 * published: a wake-up is a hint to "look again now", never the data itself. Anyone who
 * waits on one must re-read its source of truth after subscribing (to cover messages
 * published before the subscription, or lost while a connection was reconnecting) and
 * should still wake on a timeout.
 */
export interface Wakeups {
  /** Sends `payload` to every current subscriber of `channel`, on every instance. */
  publish(channel: string, payload: string): Promise<void>;
  /**
   * Registers `listener` for `channel`. The returned promise resolves once the
   * subscription is active, so a publish that starts after it resolves is delivered.
   * A listener that throws or rejects is recorded (logger) and does not affect others.
   */
  subscribe(channel: string, listener: WakeupListener): Promise<Unsubscribe>;
}

/** A value the cache stores: text, or bytes (returned by `getBuffer`). */
export type CacheValue = string | Buffer;

/**
 * A key/value cache whose entries expire. A cache may drop an entry early (memory bound,
 * eviction); it never returns an expired one.
 */
export interface TtlCache {
  /** The value as UTF-8 text, or `undefined` when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** The value as bytes, or `undefined` when absent or expired. */
  getBuffer(key: string): Promise<Buffer | undefined>;
  /** Stores `value` for `ttlMs` milliseconds (rounded up to a whole millisecond, > 0). */
  set(key: string, value: CacheValue, ttlMs: number): Promise<void>;
  /** Removes the entry; `true` when there was one. Discards in-flight loads of the key. */
  delete(key: string): Promise<boolean>;
  /**
   * The cached value, or else the loader's value, stored for `ttlMs`. Concurrent calls for
   * one key in one process share one lookup and one loader call (single flight). A loader
   * result of `undefined` is returned but not stored; a loader error rejects every waiter
   * and stores nothing. A `set` or `delete` of the key while the loader runs wins: the
   * loaded value is still returned to the waiters but not stored.
   */
  getOrLoad(key: string, ttlMs: number, loader: () => Promise<string | undefined>): Promise<string | undefined>;
}

/**
 * A token bucket, as Synapse's `rc_*` settings describe it: `burst` actions at once, then
 * `perSecond` actions per second on average.
 */
export interface RateLimitRule {
  /** Refill rate in tokens (actions) per second; Synapse's `per_second`. > 0. */
  readonly perSecond: number;
  /** Bucket capacity; Synapse's `burst_count`. > 0. */
  readonly burst: number;
}

/** The outcome of one `consume`. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** When refused: milliseconds until the same call would be allowed. 0 when allowed. */
  readonly retryAfterMs: number;
  /** Whole tokens left in the bucket after this call. */
  readonly remaining: number;
}

/** Rate-limit counters shared by every instance on the same backend. */
export interface RateLimiter {
  /**
   * Takes `cost` tokens (default 1) from the bucket `key` if it holds that many. A refused
   * call takes nothing. `cost` must be between 0 (a peek) and `rule.burst`.
   */
  consume(key: string, rule: RateLimitRule, cost?: number): Promise<RateLimitDecision>;
}

/** The logger shape this library needs (pino's `warn(obj, msg)` fits). */
export interface CacheLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}
