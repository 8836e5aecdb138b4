import { MatrixError } from '@axon/matrix-errors';
import type { RateLimitRule } from '../ports';
import { enforceRateLimit } from '../rate-limit-guard';
import { type CacheContractSetup, sleep, useContractBackend } from './contract-support';

/**
 * A slow rule for "refused" assertions: a token takes 2 s to come back, so only a stall
 * of more than a second between two calls could turn a refusal into an allowance.
 */
const SLOW: RateLimitRule = { perSecond: 0.5, burst: 3 };

/** The `RateLimiter` contract. */
export function describeRateLimiterContract(name: string, setup: CacheContractSetup): void {
  describe(`${name}: RateLimiter contract`, () => {
    const backend = useContractBackend(setup);

    it('allows the burst, then refuses with retryAfterMs of about 1/perSecond', async () => {
      const { rateLimiter } = backend.open();
      const decisions = [];
      for (let i = 0; i < 4; i += 1) decisions.push(await rateLimiter.consume('@alice:example.org', SLOW));

      expect(decisions.slice(0, 3)).toEqual([
        { allowed: true, retryAfterMs: 0, remaining: 2 },
        { allowed: true, retryAfterMs: 0, remaining: 1 },
        { allowed: true, retryAfterMs: 0, remaining: 0 },
      ]);
      const refused = decisions[3];
      expect(refused).toMatchObject({ allowed: false, remaining: 0 });
      // One token at 0.5/s is 2000 ms away, minus whatever time the calls took.
      expect(refused?.retryAfterMs).toBeGreaterThan(1000);
      expect(refused?.retryAfterMs).toBeLessThanOrEqual(2000);

      // A refusal spends nothing: asking again does not push the wait further out.
      const again = await rateLimiter.consume('@alice:example.org', SLOW);
      expect(again.allowed).toBe(false);
      expect(again.retryAfterMs).toBeLessThanOrEqual(refused?.retryAfterMs ?? 0);
    });

    it('refills over time', async () => {
      const { rateLimiter } = backend.open();
      const rule: RateLimitRule = { perSecond: 10, burst: 5 };
      expect(await rateLimiter.consume('k', rule, 5)).toEqual({ allowed: true, retryAfterMs: 0, remaining: 0 });
      const refused = await rateLimiter.consume('k', rule, 5);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(500);

      await sleep(refused.retryAfterMs + 30);

      expect(await rateLimiter.consume('k', rule, 5)).toMatchObject({ allowed: true, remaining: 0 });
    });

    it('takes cost tokens at once, and peeks with cost 0', async () => {
      const { rateLimiter } = backend.open();
      const rule: RateLimitRule = { perSecond: 0.5, burst: 5 };
      expect(await rateLimiter.consume('k', rule, 0)).toEqual({ allowed: true, retryAfterMs: 0, remaining: 5 });
      expect(await rateLimiter.consume('k', rule, 3)).toEqual({ allowed: true, retryAfterMs: 0, remaining: 2 });
      const refused = await rateLimiter.consume('k', rule, 3);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(1000); // one token short: ~2000 ms
      expect(refused.retryAfterMs).toBeLessThanOrEqual(2000);
      expect(await rateLimiter.consume('k', rule, 2)).toEqual({ allowed: true, retryAfterMs: 0, remaining: 0 });
    });

    it('shares a bucket between instances', async () => {
      const a = backend.open();
      const b = backend.open();
      for (let i = 0; i < SLOW.burst; i += 1) expect((await a.rateLimiter.consume('login:1.2.3.4', SLOW)).allowed).toBe(true);

      const refused = await b.rateLimiter.consume('login:1.2.3.4', SLOW);

      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(1000);
    });

    it('keeps keys independent', async () => {
      const { rateLimiter } = backend.open();
      for (let i = 0; i < SLOW.burst; i += 1) await rateLimiter.consume('@alice:example.org', SLOW);
      expect((await rateLimiter.consume('@alice:example.org', SLOW)).allowed).toBe(false);

      expect(await rateLimiter.consume('@bob:example.org', SLOW)).toEqual({ allowed: true, retryAfterMs: 0, remaining: 2 });
    });

    it('isolates deployments that use different key prefixes', async () => {
      const deploymentA = backend.open({ keyPrefix: 'deployment-a' });
      const deploymentB = backend.open({ keyPrefix: 'deployment-b' });
      for (let i = 0; i < SLOW.burst; i += 1) await deploymentA.rateLimiter.consume('k', SLOW);
      expect((await deploymentA.rateLimiter.consume('k', SLOW)).allowed).toBe(false);

      expect((await deploymentB.rateLimiter.consume('k', SLOW)).allowed).toBe(true);
    });

    it('rejects a cost above the burst and rules no bucket can honour', async () => {
      const { rateLimiter } = backend.open();
      await expect(rateLimiter.consume('k', SLOW, SLOW.burst + 1)).rejects.toThrow(RangeError);
      await expect(rateLimiter.consume('k', SLOW, -1)).rejects.toThrow(RangeError);
      await expect(rateLimiter.consume('k', { perSecond: 0, burst: 3 })).rejects.toThrow(RangeError);
      await expect(rateLimiter.consume('k', { perSecond: 1, burst: 0 })).rejects.toThrow(RangeError);
      await expect(rateLimiter.consume('k', { perSecond: Number.NaN, burst: 3 })).rejects.toThrow(RangeError);
      // Nothing was spent by the rejected calls.
      expect(await rateLimiter.consume('k', SLOW, 0)).toMatchObject({ remaining: SLOW.burst });
    });

    it("throws the spec's M_LIMIT_EXCEEDED with retry_after_ms through enforceRateLimit", async () => {
      const { rateLimiter } = backend.open();
      for (let i = 0; i < SLOW.burst; i += 1) await enforceRateLimit(rateLimiter, 'k', SLOW);

      const error: unknown = await enforceRateLimit(rateLimiter, 'k', SLOW).then(
        () => new Error('expected M_LIMIT_EXCEEDED'),
        (err: unknown) => err,
      );

      expect(error).toBeInstanceOf(MatrixError);
      const matrixError = error as MatrixError;
      expect(matrixError.status).toBe(429);
      const body = matrixError.toBody();
      expect(body.errcode).toBe('M_LIMIT_EXCEEDED');
      expect(body['retry_after_ms']).toBeGreaterThan(1000);
      expect(body['retry_after_ms']).toBeLessThanOrEqual(2000);
    });
  });
}
