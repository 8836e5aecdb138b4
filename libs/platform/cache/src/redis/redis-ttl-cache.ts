import type { Redis } from 'ioredis';
import type { KeySpace } from '../keys';
import { LoadCoalescer } from '../load-coalescer';
import type { CacheValue, TtlCache } from '../ports';
import { CacheClosedError, normaliseTtlMs } from '../validation';

/**
 * A TTL cache in Redis strings with a PX expiry: Redis itself never returns an expired
 * key, and evicts under its own `maxmemory` policy.
 */
export class RedisTtlCache implements TtlCache {
  private readonly loads = new LoadCoalescer<string | undefined>();
  private closed = false;

  constructor(
    private readonly command: Redis,
    private readonly keys: KeySpace,
  ) {}

  async get(key: string): Promise<string | undefined> {
    this.assertOpen();
    return (await this.command.get(this.keys.entry(key))) ?? undefined;
  }

  async getBuffer(key: string): Promise<Buffer | undefined> {
    this.assertOpen();
    return (await this.command.getBuffer(this.keys.entry(key))) ?? undefined;
  }

  async set(key: string, value: CacheValue, ttlMs: number): Promise<void> {
    this.assertOpen();
    const ttl = normaliseTtlMs(ttlMs);
    const fullKey = this.keys.entry(key);
    this.loads.invalidate(fullKey);
    await this.command.set(fullKey, value, 'PX', ttl);
  }

  async delete(key: string): Promise<boolean> {
    this.assertOpen();
    const fullKey = this.keys.entry(key);
    this.loads.invalidate(fullKey);
    return (await this.command.del(fullKey)) > 0;
  }

  async getOrLoad(
    key: string,
    ttlMs: number,
    loader: () => Promise<string | undefined>,
  ): Promise<string | undefined> {
    this.assertOpen();
    const ttl = normaliseTtlMs(ttlMs);
    const fullKey = this.keys.entry(key);
    return this.loads.run(fullKey, async (isStale) => {
      const hit = await this.command.get(fullKey);
      if (hit !== null) return hit;
      const loaded = await loader();
      // isStale() and the SET are in one synchronous step and commands on one connection
      // run in order, so a set/delete issued by this process after the check still wins.
      if (loaded !== undefined && !isStale() && !this.closed) await this.command.set(fullKey, loaded, 'PX', ttl);
      return loaded;
    });
  }

  close(): void {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new CacheClosedError('Redis cache');
  }
}
