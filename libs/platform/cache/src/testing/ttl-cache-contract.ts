import { type CacheContractSetup, Gate, sleep, useContractBackend, waitFor } from './contract-support';

const LONG_TTL_MS = 60_000;

/** The `TtlCache` contract. */
export function describeTtlCacheContract(name: string, setup: CacheContractSetup): void {
  describe(`${name}: TtlCache contract`, () => {
    const backend = useContractBackend(setup);

    it('returns what was set, as text or bytes, to every instance', async () => {
      const a = backend.open();
      const b = backend.open();
      const bytes = Buffer.from([0x00, 0xff, 0x80, 0x0a]);

      await a.cache.set('profile:@alice:example.org', '{"displayname":"Alice ✓"}', LONG_TTL_MS);
      await a.cache.set('thumbnail', bytes, LONG_TTL_MS);

      expect(await b.cache.get('profile:@alice:example.org')).toBe('{"displayname":"Alice ✓"}');
      expect(await b.cache.getBuffer('profile:@alice:example.org')).toEqual(Buffer.from('{"displayname":"Alice ✓"}'));
      expect(await b.cache.getBuffer('thumbnail')).toEqual(bytes);
      expect(await b.cache.get('never-set')).toBeUndefined();
      expect(await b.cache.getBuffer('never-set')).toBeUndefined();
    });

    it('never returns an entry after its TTL', async () => {
      const a = backend.open();
      const b = backend.open();
      const ttlMs = 150;
      const started = Date.now();
      await a.cache.set('short', 'soon gone', ttlMs);
      const early = await b.cache.get('short');
      // Only meaningful if this machine was quick enough; a slow run proves nothing here
      // but must not fail (expiry itself is asserted below either way).
      if (Date.now() - started < ttlMs) expect(early).toBe('soon gone');

      await sleep(ttlMs + 50 - (Date.now() - started));

      expect(await a.cache.get('short')).toBeUndefined();
      expect(await b.cache.get('short')).toBeUndefined();
      expect(await b.cache.getBuffer('short')).toBeUndefined();
      expect(await b.cache.delete('short')).toBe(false);
    });

    it('replaces the value and the TTL on set', async () => {
      const a = backend.open();
      await a.cache.set('k', 'old', 40);
      await a.cache.set('k', 'new', LONG_TTL_MS);
      await sleep(80);
      expect(await a.cache.get('k')).toBe('new');
    });

    it('deletes entries, from any instance, reporting whether there was one', async () => {
      const a = backend.open();
      const b = backend.open();
      await a.cache.set('k', 'v', LONG_TTL_MS);

      expect(await b.cache.delete('k')).toBe(true);
      expect(await a.cache.get('k')).toBeUndefined();
      expect(await a.cache.delete('k')).toBe(false);
    });

    it('runs the loader once for concurrent getOrLoad calls and caches its value', async () => {
      const a = backend.open();
      const b = backend.open();
      const gate = new Gate<string>();
      let calls = 0;
      const loader = async (): Promise<string> => {
        calls += 1;
        return gate.promise;
      };

      const results = Promise.all(Array.from({ length: 10 }, () => a.cache.getOrLoad('room:!r:summary', LONG_TTL_MS, loader)));
      await waitFor('the loader to start', () => calls > 0);
      gate.open('loaded once');

      expect(await results).toEqual(Array.from({ length: 10 }, () => 'loaded once'));
      expect(calls).toBe(1);
      expect(await b.cache.get('room:!r:summary')).toBe('loaded once');
      expect(await b.cache.getOrLoad('room:!r:summary', LONG_TTL_MS, loader)).toBe('loaded once');
      expect(calls).toBe(1);
    });

    it('stores nothing when the loader fails or finds nothing, and loads again next time', async () => {
      const a = backend.open();
      const failure = new Error('database down');
      const failing = Array.from({ length: 3 }, () =>
        a.cache.getOrLoad('k', LONG_TTL_MS, async () => {
          throw failure;
        }),
      );
      for (const call of failing) await expect(call).rejects.toBe(failure);
      expect(await a.cache.get('k')).toBeUndefined();

      expect(await a.cache.getOrLoad('k', LONG_TTL_MS, async () => undefined)).toBeUndefined();
      expect(await a.cache.get('k')).toBeUndefined();

      expect(await a.cache.getOrLoad('k', LONG_TTL_MS, async () => 'found')).toBe('found');
      expect(await a.cache.get('k')).toBe('found');
    });

    it('lets a set or delete made during a load win over the loaded value', async () => {
      const a = backend.open();
      for (const [key, interfere, expected] of [
        ['deleted', () => a.cache.delete('deleted'), undefined],
        ['overwritten', () => a.cache.set('overwritten', 'fresh', LONG_TTL_MS), 'fresh'],
      ] as const) {
        const gate = new Gate<string>();
        let started = false;
        const load = a.cache.getOrLoad(key, LONG_TTL_MS, async () => {
          started = true;
          return gate.promise;
        });
        await waitFor(`the loader of ${key} to start`, () => started);
        await interfere();
        gate.open('stale');

        expect(await load).toBe('stale');
        expect(await a.cache.get(key)).toBe(expected);
      }
    });

    it('isolates deployments that use different key prefixes', async () => {
      const deploymentA = backend.open({ keyPrefix: 'deployment-a' });
      const deploymentB = backend.open({ keyPrefix: 'deployment-b' });

      await deploymentA.cache.set('k', 'from A', LONG_TTL_MS);
      expect(await deploymentB.cache.get('k')).toBeUndefined();
      await deploymentB.cache.set('k', 'from B', LONG_TTL_MS);
      expect(await deploymentA.cache.get('k')).toBe('from A');
      expect(await deploymentB.cache.delete('k')).toBe(true);
      expect(await deploymentA.cache.get('k')).toBe('from A');
    });

    it('rejects a TTL that is not a positive number', async () => {
      const a = backend.open();
      for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(a.cache.set('k', 'v', ttlMs)).rejects.toThrow(RangeError);
        await expect(a.cache.getOrLoad('k', ttlMs, async () => 'v')).rejects.toThrow(RangeError);
      }
      expect(await a.cache.get('k')).toBeUndefined();
    });

    it('refuses every operation after close', async () => {
      const a = backend.open();
      await a.close();
      await expect(a.cache.get('k')).rejects.toThrow(/closed/);
      await expect(a.cache.set('k', 'v', LONG_TTL_MS)).rejects.toThrow(/closed/);
      await expect(a.cache.getOrLoad('k', LONG_TTL_MS, async () => 'v')).rejects.toThrow(/closed/);
    });
  });
}
