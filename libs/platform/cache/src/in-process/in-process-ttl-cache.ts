import type { KeySpace } from '../keys';
import { LoadCoalescer } from '../load-coalescer';
import type { CacheValue, TtlCache } from '../ports';
import { CacheClosedError, normaliseTtlMs } from '../validation';
import type { InProcessBackend } from './in-process-backend';

/** A TTL cache in the backend's bounded in-memory store (embedded mode). */
export class InProcessTtlCache implements TtlCache {
  private readonly loads = new LoadCoalescer<string | undefined>();
  private closed = false;

  constructor(
    private readonly backend: InProcessBackend,
    private readonly keys: KeySpace,
  ) {}

  async get(key: string): Promise<string | undefined> {
    this.assertOpen();
    return this.readText(this.keys.entry(key));
  }

  async getBuffer(key: string): Promise<Buffer | undefined> {
    this.assertOpen();
    const value = this.backend.entries.get(this.keys.entry(key));
    if (value === undefined) return undefined;
    // A copy, so the caller cannot change the cached bytes.
    return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  }

  async set(key: string, value: CacheValue, ttlMs: number): Promise<void> {
    this.assertOpen();
    const ttl = normaliseTtlMs(ttlMs);
    const fullKey = this.keys.entry(key);
    this.loads.invalidate(fullKey);
    this.backend.entries.set(fullKey, value, ttl);
  }

  async delete(key: string): Promise<boolean> {
    this.assertOpen();
    const fullKey = this.keys.entry(key);
    this.loads.invalidate(fullKey);
    return this.backend.entries.delete(fullKey);
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
      const hit = this.readText(fullKey);
      if (hit !== undefined) return hit;
      const loaded = await loader();
      if (loaded !== undefined && !isStale() && !this.closed) this.backend.entries.set(fullKey, loaded, ttl);
      return loaded;
    });
  }

  close(): void {
    this.closed = true;
  }

  private readText(fullKey: string): string | undefined {
    const value = this.backend.entries.get(fullKey);
    if (value === undefined) return undefined;
    return typeof value === 'string' ? value : value.toString('utf8');
  }

  private assertOpen(): void {
    if (this.closed) throw new CacheClosedError('in-process cache');
  }
}
