import { createInProcessCache } from '../create-cache';
import { createInProcessBackend } from './in-process-backend';
import { LruTtlStore } from './lru-ttl-store';

describe('LruTtlStore', () => {
  it('evicts the least recently used entry beyond maxEntries', () => {
    const store = new LruTtlStore(2, () => 0);
    store.set('a', '1', 1_000);
    store.set('b', '2', 1_000);
    expect(store.get('a')).toBe('1'); // a is now more recent than b
    store.set('c', '3', 1_000);

    expect(store.size).toBe(2);
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')).toBe('1');
    expect(store.get('c')).toBe('3');
  });

  it('never returns an expired entry and sweeps the ones nobody reads', () => {
    let now = 0;
    const store = new LruTtlStore(10, () => now);
    store.set('read', 'x', 100);
    store.set('unread', 'y', 100);
    store.set('long', 'z', 10_000);
    now = 100;

    expect(store.get('read')).toBeUndefined();
    expect(store.sweep()).toBe(1);
    expect(store.size).toBe(1);
    expect(store.get('long')).toBe('z');
  });

  it('keeps its own copy of stored bytes', () => {
    const store = new LruTtlStore(10, () => 0);
    const bytes = Buffer.from([1, 2, 3]);
    store.set('k', bytes, 1_000);
    bytes[0] = 9;
    expect(store.get('k')).toEqual(Buffer.from([1, 2, 3]));
  });

  it('rejects a bound that holds nothing', () => {
    expect(() => new LruTtlStore(0, () => 0)).toThrow(RangeError);
  });
});

describe('InProcessBackend', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('sweeps only while a client is attached, on an unref-ed timer', async () => {
    jest.useFakeTimers();
    let now = 0;
    const backend = createInProcessBackend({ sweepIntervalMs: 1_000, now: () => now });
    expect(backend.sweeping).toBe(false);
    const client = createInProcessCache({ inProcessBackend: backend });
    const other = createInProcessCache({ inProcessBackend: backend });
    expect(backend.sweeping).toBe(true);
    const sweep = jest.spyOn(backend, 'sweep');

    await client.cache.set('k', 'v', 500);
    await client.rateLimiter.consume('bucket', { perSecond: 10, burst: 2 });
    expect(backend.entries.size).toBe(1);
    expect(backend.buckets.size).toBe(1);
    now = 1_000;
    jest.advanceTimersByTime(1_000);

    expect(sweep).toHaveBeenCalledTimes(1);
    expect(backend.entries.size).toBe(0);
    expect(backend.buckets.size).toBe(0); // refilled: a missing bucket is a full one
    await client.close();
    expect(backend.sweeping).toBe(true);
    await other.close();
    await other.close();
    expect(backend.sweeping).toBe(false);
  });

  it('does not keep the process alive with its timer', () => {
    const setIntervalSpy = jest.spyOn(global, 'setInterval');
    const backend = createInProcessBackend();
    const client = createInProcessCache({ inProcessBackend: backend });
    const timer = setIntervalSpy.mock.results[0]?.value as NodeJS.Timeout | undefined;
    expect(timer?.hasRef()).toBe(false);
    setIntervalSpy.mockRestore();
    return client.close();
  });

  it('shares state only between clients of one backend', async () => {
    const shared = createInProcessBackend();
    const a = createInProcessCache({ inProcessBackend: shared });
    const b = createInProcessCache({ inProcessBackend: shared });
    const alone = createInProcessCache();
    await a.cache.set('k', 'v', 60_000);
    expect(await b.cache.get('k')).toBe('v');
    expect(await alone.cache.get('k')).toBeUndefined();
    await Promise.all([a.close(), b.close(), alone.close()]);
  });
});
