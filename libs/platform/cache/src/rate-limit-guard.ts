import { limitExceeded } from '@axon/matrix-errors';
import type { RateLimitDecision, RateLimiter, RateLimitRule } from './ports';

/**
 * Consumes from the bucket or throws the spec's `M_LIMIT_EXCEEDED` (HTTP 429) carrying
 * `retry_after_ms`, for use at the HTTP edge.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#rate-limiting
 */
export async function enforceRateLimit(
  limiter: RateLimiter,
  key: string,
  rule: RateLimitRule,
  cost = 1,
): Promise<RateLimitDecision> {
  const decision = await limiter.consume(key, rule, cost);
  if (!decision.allowed) throw limitExceeded(decision.retryAfterMs);
  return decision;
}
