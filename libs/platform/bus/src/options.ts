import type { BatchSubscribeOptions, SubscribeOptions, SubscriptionObserver } from './bus';
import { errorFields, type BusLogger } from './logger';

export interface ResolvedSubscribeOptions {
  readonly concurrency: number;
  readonly order: 'key' | 'partition';
  readonly maxAttempts: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly factor: number };
  readonly startFrom: 'earliest' | 'latest';
  readonly maxBufferedPerPartition: number;
  readonly drainTimeoutMs: number;
  readonly commitIntervalMs: number;
  readonly observer: SubscriptionObserver;
  /** Most messages per handler call: 1 for `subscribe`, `maxBatch` (default 64) for `subscribeBatches`. */
  readonly maxBatch: number;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}

export function resolveSubscribeOptions(options: SubscribeOptions = {}): ResolvedSubscribeOptions {
  const backoff = options.backoff ?? {};
  const factor = backoff.factor ?? 2;
  if (!Number.isFinite(factor) || factor < 1) throw new RangeError(`backoff.factor must be >= 1, got ${factor}`);
  return {
    concurrency: options.order === 'partition' ? 1 : positiveInt('concurrency', options.concurrency, 16),
    order: options.order ?? 'key',
    maxAttempts: positiveInt('maxAttempts', options.maxAttempts, 5),
    backoff: {
      initialMs: nonNegative('backoff.initialMs', backoff.initialMs, 200),
      maxMs: nonNegative('backoff.maxMs', backoff.maxMs, 30_000),
      factor,
    },
    startFrom: options.startFrom ?? 'earliest',
    maxBufferedPerPartition: positiveInt('maxBufferedPerPartition', options.maxBufferedPerPartition, 1000),
    drainTimeoutMs: nonNegative('drainTimeoutMs', options.drainTimeoutMs, 30_000),
    commitIntervalMs: nonNegative('commitIntervalMs', options.commitIntervalMs, 500),
    observer: options.observer ?? {},
    maxBatch: 1,
  };
}

export function resolveBatchSubscribeOptions(options: BatchSubscribeOptions = {}): ResolvedSubscribeOptions {
  return { ...resolveSubscribeOptions(options), maxBatch: positiveInt('maxBatch', options.maxBatch, 64) };
}

/** Delay before attempt `nextAttempt` (2, 3...): initial × factor^(n-2), capped. */
export function backoffDelay(backoff: ResolvedSubscribeOptions['backoff'], nextAttempt: number): number {
  const exponent = Math.max(0, nextAttempt - 2);
  return Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** exponent);
}

export function checkGroupId(groupId: string): void {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(groupId)) {
    throw new Error(`consumer group "${groupId}" must be 1-200 characters of letters, digits, ".", "_" or "-"`);
  }
}

/**
 * Calls an observer callback; a throwing observer is logged and ignored, never allowed to
 * wedge a worker or a commit chain.
 */
export function notifyObserver(logger: BusLogger, callback: keyof SubscriptionObserver, call: () => void): void {
  try {
    call();
  } catch (err) {
    logger.log('error', `bus: subscription observer ${callback} threw; ignored`, errorFields(err));
  }
}
