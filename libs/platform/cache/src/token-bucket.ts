import type { RateLimitDecision, RateLimitRule } from './ports';

/**
 * Token-bucket arithmetic shared by the in-process limiter; `redis/token-bucket.script.ts`
 * is the same algorithm in Lua. Keep the two in step.
 *
 * A bucket holds up to `burst` tokens and gains `perSecond` tokens per second. An action
 * costing `cost` is allowed when the bucket holds at least that many, and then takes them.
 * A missing bucket is a full one, so state can be dropped as soon as the bucket would have
 * refilled (`idleAfterMs`) without changing any decision: that is what makes idle expiry
 * safe.
 */

/** Absorbs float error so that waiting exactly `retryAfterMs` is always enough. */
export const TOKEN_EPSILON = 1e-9;

export interface BucketState {
  readonly tokens: number;
  readonly updatedAtMs: number;
}

export interface TakeResult {
  readonly state: BucketState;
  readonly decision: RateLimitDecision;
  /** Milliseconds after `nowMs` at which the bucket is full again and can be forgotten. */
  readonly idleAfterMs: number;
}

/** Throws a RangeError for a rule or cost no bucket can honour (a programming error). */
export function assertValidConsume(rule: RateLimitRule, cost: number): void {
  if (!Number.isFinite(rule.perSecond) || rule.perSecond <= 0) {
    throw new RangeError(`rate limit perSecond must be a finite number > 0, got ${rule.perSecond}`);
  }
  if (!Number.isFinite(rule.burst) || rule.burst <= 0) {
    throw new RangeError(`rate limit burst must be a finite number > 0, got ${rule.burst}`);
  }
  // A cost above the burst could never be allowed, and its retryAfterMs would be a lie.
  if (!Number.isFinite(cost) || cost < 0 || cost > rule.burst) {
    throw new RangeError(`rate limit cost must be between 0 and burst (${rule.burst}), got ${cost}`);
  }
}

export function takeTokens(
  previous: BucketState | undefined,
  rule: RateLimitRule,
  cost: number,
  nowMs: number,
): TakeResult {
  let tokens = rule.burst;
  if (previous !== undefined) {
    // A clock that goes backwards (another Redis primary after failover) refills nothing.
    const elapsedMs = Math.max(0, nowMs - previous.updatedAtMs);
    tokens = Math.min(rule.burst, previous.tokens + (elapsedMs * rule.perSecond) / 1000);
  }
  let allowed = false;
  let retryAfterMs = 0;
  if (tokens + TOKEN_EPSILON >= cost) {
    allowed = true;
    tokens = Math.max(0, tokens - cost);
  } else {
    retryAfterMs = Math.ceil(((cost - tokens) * 1000) / rule.perSecond);
  }
  return {
    state: { tokens, updatedAtMs: nowMs },
    decision: { allowed, retryAfterMs, remaining: Math.floor(tokens + TOKEN_EPSILON) },
    idleAfterMs: Math.ceil(((rule.burst - tokens) * 1000) / rule.perSecond),
  };
}
