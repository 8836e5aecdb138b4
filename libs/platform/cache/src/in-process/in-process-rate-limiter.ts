import type { KeySpace } from '../keys';
import type { RateLimitDecision, RateLimiter, RateLimitRule } from '../ports';
import { assertValidConsume, takeTokens } from '../token-bucket';
import { CacheClosedError } from '../validation';
import type { InProcessBackend } from './in-process-backend';

/** Token buckets in the backend's memory (embedded mode): one process, one clock. */
export class InProcessRateLimiter implements RateLimiter {
  private closed = false;

  constructor(
    private readonly backend: InProcessBackend,
    private readonly keys: KeySpace,
  ) {}

  async consume(key: string, rule: RateLimitRule, cost = 1): Promise<RateLimitDecision> {
    if (this.closed) throw new CacheClosedError('in-process rate limiter');
    assertValidConsume(rule, cost);
    const fullKey = this.keys.bucket(key);
    const now = this.backend.now();
    const stored = this.backend.buckets.get(fullKey);
    const { state, decision, idleAfterMs } = takeTokens(stored?.state, rule, cost, now);
    this.backend.buckets.set(fullKey, { state, idleAtMs: now + idleAfterMs });
    return decision;
  }

  close(): void {
    this.closed = true;
  }
}
