import type { RateLimitRule } from './ports';
import { assertValidConsume, type BucketState, takeTokens } from './token-bucket';

// Synapse's default rc_message: 0.2 actions per second, bursts of 10.
const RC_MESSAGE: RateLimitRule = { perSecond: 0.2, burst: 10 };

describe('takeTokens (a deterministic clock)', () => {
  it('starts full, spends the burst, then names the exact wait for one token', () => {
    let state: BucketState | undefined;
    for (let i = 0; i < 10; i += 1) {
      const result = takeTokens(state, RC_MESSAGE, 1, 1_000);
      expect(result.decision).toEqual({ allowed: true, retryAfterMs: 0, remaining: 9 - i });
      state = result.state;
    }
    const refused = takeTokens(state, RC_MESSAGE, 1, 1_000);
    expect(refused.decision).toEqual({ allowed: false, retryAfterMs: 5_000, remaining: 0 });
    expect(refused.idleAfterMs).toBe(50_000);
  });

  it.each([
    // [ms since the bucket was emptied, allowed, retryAfterMs]
    [0, false, 5_000],
    [2_500, false, 2_500],
    [4_999, false, 1],
    [5_000, true, 0],
  ])('after %i ms: allowed=%s, retryAfterMs=%i', (elapsedMs, allowed, retryAfterMs) => {
    const empty: BucketState = { tokens: 0, updatedAtMs: 1_000 };
    expect(takeTokens(empty, RC_MESSAGE, 1, 1_000 + elapsedMs).decision).toMatchObject({ allowed, retryAfterMs });
  });

  it('waiting exactly retryAfterMs is always enough, despite float rounding', () => {
    const rule: RateLimitRule = { perSecond: 3, burst: 1 };
    let state: BucketState = { tokens: 0, updatedAtMs: 0 };
    let now = 0;
    for (let i = 0; i < 100; i += 1) {
      const refused = takeTokens(state, rule, 1, now + 1);
      expect(refused.decision.allowed).toBe(false);
      now += 1 + refused.decision.retryAfterMs;
      const allowed = takeTokens(refused.state, rule, 1, now);
      expect(allowed.decision.allowed).toBe(true);
      state = allowed.state;
    }
  });

  it('never refills past the burst, and a clock going backwards refills nothing', () => {
    const full = takeTokens({ tokens: 1, updatedAtMs: 0 }, RC_MESSAGE, 0, 10_000_000);
    expect(full.decision.remaining).toBe(10);
    const backwards = takeTokens({ tokens: 2, updatedAtMs: 5_000 }, RC_MESSAGE, 0, 1_000);
    expect(backwards.decision.remaining).toBe(2);
  });

  it('rejects costs and rules no bucket can honour', () => {
    expect(() => assertValidConsume(RC_MESSAGE, 11)).toThrow(RangeError);
    expect(() => assertValidConsume(RC_MESSAGE, -1)).toThrow(RangeError);
    expect(() => assertValidConsume({ perSecond: Number.POSITIVE_INFINITY, burst: 1 }, 1)).toThrow(RangeError);
    expect(() => assertValidConsume({ perSecond: 1, burst: -1 }, 0)).toThrow(RangeError);
    expect(() => assertValidConsume(RC_MESSAGE, 10)).not.toThrow();
  });
});
