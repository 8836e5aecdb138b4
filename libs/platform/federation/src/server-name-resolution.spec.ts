import { FederationDestinationRefusedError, FederationNetworkError } from './errors';
import type { Resolver, SrvRecord } from './resolver';
import { ServerNameResolver, SRV_CACHE_MS } from './server-name-resolution';
import { FakeResolver, FakeWellKnownFetcher, wellKnownAnswer } from './testing/fakes';
import { WellKnownCache } from './well-known';

const srv = (name: string, port: number, priority = 10, weight = 0): SrvRecord => ({ name, port, priority, weight });

function setup(options: { wellKnown?: Record<string, unknown>; srv?: Record<string, SrvRecord[]> } = {}) {
  let now = 0;
  const fetcher = new FakeWellKnownFetcher(Object.fromEntries(Object.entries(options.wellKnown ?? {}).map(([host, body]) => [host, wellKnownAnswer(body)])));
  const dns = new FakeResolver(options.srv ?? {});
  const clock = { now: () => now };
  const resolver = new ServerNameResolver(dns, new WellKnownCache(fetcher, clock), clock);
  return { resolver, fetcher, dns, advance: (ms: number) => (now += ms) };
}

describe('ServerNameResolver (Resolving server names, v1.19)', () => {
  describe('1. IP literals: that address, Host the server name, no discovery', () => {
    it.each([
      ['1.2.3.4', { host: '1.2.3.4', port: 8448 }],
      ['1.2.3.4:8449', { host: '1.2.3.4', port: 8449 }],
      ['[2001:db8::1]', { host: '2001:db8::1', port: 8448 }],
      ['[2001:db8::1]:443', { host: '2001:db8::1', port: 443 }],
    ])('%s', async (serverName, target) => {
      const { resolver, fetcher, dns } = setup();
      await expect(resolver.resolve(serverName)).resolves.toEqual({ serverName, targets: [target], hostHeader: serverName });
      expect(fetcher.fetched).toEqual([]);
      expect(dns.srvQueries).toEqual([]);
    });
  });

  it('2. a hostname with a port: that hostname and port, Host hostname:port, no discovery', async () => {
    const { resolver, fetcher, dns } = setup({ wellKnown: { 'example.com': { 'm.server': 'other.example.com' } } });
    await expect(resolver.resolve('example.com:8450')).resolves.toEqual({
      serverName: 'example.com:8450',
      targets: [{ host: 'example.com', port: 8450 }],
      hostHeader: 'example.com:8450',
    });
    expect(fetcher.fetched).toEqual([]);
    expect(dns.srvQueries).toEqual([]);
  });

  describe('3. well-known delegation', () => {
    it('3.1 to an IP literal: that address and port (or 8448), Host the delegated literal', async () => {
      const { resolver } = setup({ wellKnown: { 'a.example': { 'm.server': '1.2.3.4:1234' }, 'b.example': { 'm.server': '[2001:db8::2]' } } });
      await expect(resolver.resolve('a.example')).resolves.toEqual({ serverName: 'a.example', targets: [{ host: '1.2.3.4', port: 1234 }], hostHeader: '1.2.3.4:1234' });
      await expect(resolver.resolve('b.example')).resolves.toEqual({ serverName: 'b.example', targets: [{ host: '2001:db8::2', port: 8448 }], hostHeader: '[2001:db8::2]' });
    });

    it('3.2 to a hostname with a port: that hostname and port, Host delegated:port, no SRV', async () => {
      const { resolver, dns } = setup({ wellKnown: { 'example.com': { 'm.server': 'matrix.example.net:8443' } } });
      await expect(resolver.resolve('example.com')).resolves.toEqual({
        serverName: 'example.com',
        targets: [{ host: 'matrix.example.net', port: 8443 }],
        hostHeader: 'matrix.example.net:8443',
      });
      expect(dns.srvQueries).toEqual([]);
    });

    it('3.3 to a hostname: SRV _matrix-fed._tcp.<delegated>, Host the delegated hostname', async () => {
      const { resolver, dns } = setup({
        wellKnown: { 'example.com': { 'm.server': 'matrix.example.net' } },
        srv: {
          '_matrix-fed._tcp.matrix.example.net': [srv('backup.example.net.', 8448, 20), srv('fed.example.net.', 443, 10)],
          '_matrix._tcp.matrix.example.net': [srv('legacy.example.net', 8448)],
          '_matrix-fed._tcp.example.com': [srv('undelegated.example.com', 8448)],
        },
      });
      await expect(resolver.resolve('example.com')).resolves.toEqual({
        serverName: 'example.com',
        targets: [
          { host: 'fed.example.net', port: 443 },
          { host: 'backup.example.net', port: 8448 },
        ],
        hostHeader: 'matrix.example.net',
      });
      expect(dns.srvQueries).toEqual(['_matrix-fed._tcp.matrix.example.net']);
    });

    it('3.4 (deprecated) then SRV _matrix._tcp.<delegated>', async () => {
      const { resolver, dns } = setup({
        wellKnown: { 'example.com': { 'm.server': 'matrix.example.net' } },
        srv: { '_matrix._tcp.matrix.example.net': [srv('legacy.example.net', 8449)] },
      });
      await expect(resolver.resolve('example.com')).resolves.toEqual({
        serverName: 'example.com',
        targets: [{ host: 'legacy.example.net', port: 8449 }],
        hostHeader: 'matrix.example.net',
      });
      expect(dns.srvQueries).toEqual(['_matrix-fed._tcp.matrix.example.net', '_matrix._tcp.matrix.example.net']);
    });

    it('3.5 without SRV records: the delegated hostname on 8448', async () => {
      const { resolver } = setup({ wellKnown: { 'example.com': { 'm.server': 'matrix.example.net' } } });
      await expect(resolver.resolve('example.com')).resolves.toEqual({
        serverName: 'example.com',
        targets: [{ host: 'matrix.example.net', port: 8448 }],
        hostHeader: 'matrix.example.net',
      });
    });
  });

  it('4. without well-known: SRV _matrix-fed._tcp.<hostname>, Host the hostname', async () => {
    const { resolver, dns } = setup({
      srv: { '_matrix-fed._tcp.example.com': [srv('fed.example.com', 8443)], '_matrix._tcp.example.com': [srv('legacy.example.com', 8448)] },
    });
    await expect(resolver.resolve('example.com')).resolves.toEqual({ serverName: 'example.com', targets: [{ host: 'fed.example.com', port: 8443 }], hostHeader: 'example.com' });
    expect(dns.srvQueries).toEqual(['_matrix-fed._tcp.example.com']);
  });

  it('5. (deprecated) then SRV _matrix._tcp.<hostname>', async () => {
    const { resolver } = setup({ srv: { '_matrix._tcp.example.com': [srv('legacy.example.com', 8449)] } });
    await expect(resolver.resolve('example.com')).resolves.toEqual({ serverName: 'example.com', targets: [{ host: 'legacy.example.com', port: 8449 }], hostHeader: 'example.com' });
  });

  it('6. otherwise the hostname on 8448', async () => {
    const { resolver, dns } = setup();
    await expect(resolver.resolve('example.com')).resolves.toEqual({ serverName: 'example.com', targets: [{ host: 'example.com', port: 8448 }], hostHeader: 'example.com' });
    expect(dns.srvQueries).toEqual(['_matrix-fed._tcp.example.com', '_matrix._tcp.example.com']);
  });

  it('an invalid well-known answer counts as none (steps 4 to 6)', async () => {
    const { resolver } = setup({ wellKnown: { 'example.com': { 'm.server': 'not a name!' } }, srv: { '_matrix-fed._tcp.example.com': [srv('fed.example.com', 8443)] } });
    await expect(resolver.resolve('example.com')).resolves.toEqual({ serverName: 'example.com', targets: [{ host: 'fed.example.com', port: 8443 }], hostHeader: 'example.com' });
  });

  it('follows a well-known change once the cached answer expires', async () => {
    const { resolver, fetcher, advance } = setup({ wellKnown: { 'example.com': { 'm.server': 'one.example.net:8448' } } });
    expect((await resolver.resolve('example.com')).hostHeader).toBe('one.example.net:8448');
    fetcher.answers['example.com'] = wellKnownAnswer({ 'm.server': 'two.example.net:8448' });
    advance(24 * 3_600_000 - 1);
    expect((await resolver.resolve('example.com')).hostHeader).toBe('one.example.net:8448');
    advance(1);
    expect((await resolver.resolve('example.com')).hostHeader).toBe('two.example.net:8448');
  });

  it('keeps SRV answers for a while', async () => {
    const { resolver, dns, advance } = setup();
    await resolver.resolve('example.com');
    await resolver.resolve('example.com');
    expect(dns.srvQueries).toHaveLength(2);
    advance(SRV_CACHE_MS);
    await resolver.resolve('example.com');
    expect(dns.srvQueries).toHaveLength(4);
  });

  it('refuses a destination that is not a server name', async () => {
    const { resolver } = setup();
    await expect(resolver.resolve('https://example.com')).rejects.toThrow(FederationDestinationRefusedError);
    await expect(resolver.resolve('example.com:99999')).rejects.toMatchObject({ reason: 'invalid_server_name' });
  });

  it('fails with a DNS error when an SRV lookup fails (not "no records")', async () => {
    const failing: Resolver = {
      resolveSrv: async () => {
        throw Object.assign(new Error('queryd ESERVFAIL'), { code: 'ESERVFAIL' });
      },
      lookup: async () => [],
    };
    const resolver = new ServerNameResolver(failing, new WellKnownCache(new FakeWellKnownFetcher()));
    await expect(resolver.resolve('example.com')).rejects.toEqual(expect.any(FederationNetworkError));
    await expect(resolver.resolve('example.com')).rejects.toMatchObject({ failure: 'dns', destination: 'example.com' });
  });
});
