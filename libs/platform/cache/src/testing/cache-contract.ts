import { type CacheContractSetup, useContractBackend } from './contract-support';
import { describeRateLimiterContract } from './rate-limiter-contract';
import { describeTtlCacheContract } from './ttl-cache-contract';
import { describeWakeupsContract } from './wakeups-contract';

export { type CacheContractBackend, type CacheContractSetup, type OpenOptions } from './contract-support';
export { describeRateLimiterContract } from './rate-limiter-contract';
export { describeTtlCacheContract } from './ttl-cache-contract';
export { describeWakeupsContract } from './wakeups-contract';

/**
 * Every contract of the cache platform library against one backend: run it once per
 * implementation (in-process in the unit project, Redis in the infra project).
 */
export function describeCacheContract(name: string, setup: CacheContractSetup): void {
  describeWakeupsContract(name, setup);
  describeTtlCacheContract(name, setup);
  describeRateLimiterContract(name, setup);
  describeClientLifecycleContract(name, setup);
}

function describeClientLifecycleContract(name: string, setup: CacheContractSetup): void {
  describe(`${name}: client lifecycle`, () => {
    const backend = useContractBackend(setup);

    it('is ready and answers ping once open, and closes idempotently', async () => {
      const client = backend.open();
      await client.ready();
      await client.ping();
      await client.close();
      await client.close();
      await expect(client.ping()).rejects.toThrow(/closed/);
    });
  });
}
