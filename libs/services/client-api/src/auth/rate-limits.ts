import { Injectable } from '@nestjs/common';
import type { AxonConfig } from '@axon/platform-config';
import { enforceRateLimit, type CacheClient } from '@axon/platform-cache';
import { InjectCache, InjectConfig } from '@axon/platform-runtime';

export type RateLimitedAction = 'login' | 'registration' | 'general';

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
}
