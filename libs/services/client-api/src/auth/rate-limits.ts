import { Injectable } from '@nestjs/common';
import type { AxonConfig } from '@axon/platform-config';
import { limitExceeded } from '@axon/matrix-errors';
import { enforceRateLimit, type CacheClient } from '@axon/platform-cache';
import { InjectCache, InjectConfig } from '@axon/platform-runtime';

export type RateLimitedAction = 'login' | 'registration' | 'general' | 'reports' | 'user_directory';

/** The configured token buckets (`rate_limits.*`), shared across replicas through the cache. */
@Injectable()
export class RateLimits {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    @InjectCache() private readonly cache: CacheClient,
  ) {}

  /** Takes one token from `action`'s bucket for `subject` (an IP address or user ID), or throws `M_LIMIT_EXCEEDED`. */
  async enforce(action: RateLimitedAction, subject: string): Promise<void> {
    if (!this.config.rate_limits.enabled) return;
    const rule = this.config.rate_limits[action];
    await enforceRateLimit(this.cache.rateLimiter, `client_api:rl:${action}:${subject}`, { perSecond: rule.per_second, burst: rule.burst_count });
  }

  /**
   * Throws `M_LIMIT_EXCEEDED` if `action`'s bucket for `subject` has no whole token left,
   * taking nothing: for the steps before an action completes (a registration's
   * user-interactive steps), so that only completed actions count, each once (`enforce`).
   */
  async check(action: RateLimitedAction, subject: string): Promise<void> {
    if (!this.config.rate_limits.enabled) return;
    const rule = this.config.rate_limits[action];
    const peek = await this.cache.rateLimiter.consume(`client_api:rl:${action}:${subject}`, { perSecond: rule.per_second, burst: rule.burst_count }, 0);
    // At most this long until the bucket refills to one token.
    if (peek.remaining < 1) throw limitExceeded(Math.ceil(1000 / rule.per_second));
  }
}
