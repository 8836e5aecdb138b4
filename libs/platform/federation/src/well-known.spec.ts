import { FakeWellKnownFetcher, wellKnownAnswer } from './testing/fakes';
import { cacheLifetimeFromHeaders, parseWellKnown, WELL_KNOWN_DEFAULT_CACHE_MS, WELL_KNOWN_FAILURE_CACHE_MS, WELL_KNOWN_MAX_CACHE_MS, WELL_KNOWN_MIN_CACHE_MS, WellKnownCache } from './well-known';

const HOUR = 3_600_000;

describe('parseWellKnown', () => {
  it.each([
    [{ 'm.server': 'delegated.example.com' }, 'delegated.example.com'],
    [{ 'm.server': 'delegated.example.com:1234' }, 'delegated.example.com:1234'],
    [{ 'm.server': '1.2.3.4:8449' }, '1.2.3.4:8449'],
    [{ 'm.server': '[2001:db8::1]' }, '[2001:db8::1]'],
  ])('reads %j', (body, delegated) => {
    expect(parseWellKnown(wellKnownAnswer(body))).toEqual({ ok: true, delegated });
  });

  it.each([
    ['a non-200 status', wellKnownAnswer({ 'm.server': 'x.example' }, {}, 404), /status 404/],
    ['bad JSON', wellKnownAnswer('{"m.server": '), /not JSON/],
    ['an array', wellKnownAnswer([]), /not a JSON object/],
    ['no m.server', wellKnownAnswer({ 'm.homeserver': 'x' }), /no m.server/],
    ['a non-string m.server', wellKnownAnswer({ 'm.server': 8448 }), /no m.server/],
    ['an m.server that is not a server name', wellKnownAnswer({ 'm.server': 'https://x.example/' }), /not a server name/],
    ['an m.server with port 0', wellKnownAnswer({ 'm.server': 'x.example:0' }), /not a server name/],
  ])('refuses %s', (_what, response, reason) => {
    const result = parseWellKnown(response);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(reason);
  });
});

describe('cacheLifetimeFromHeaders', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it.each([
    [{ 'cache-control': 'public, max-age=3600' }, 3600_000],
    [{ 'cache-control': 'max-age=60, must-revalidate' }, 60_000],
    [{ 'cache-control': 'no-store' }, 0],
    [{ 'cache-control': 'no-cache, max-age=3600' }, 0],
    [{ expires: 'Thu, 01 Jan 2026 02:00:00 GMT' }, 2 * HOUR],
    [{ expires: 'Wed, 31 Dec 2025 00:00:00 GMT' }, 0],
    [{ expires: 'not a date' }, 0],
    [{ 'cache-control': 'max-age=10', expires: 'Thu, 01 Jan 2026 02:00:00 GMT' }, 10_000],
    [{}, undefined],
  ])('%j gives %s ms', (headers, lifetime) => {
    expect(cacheLifetimeFromHeaders(headers, now)).toBe(lifetime);
  });
});

describe('WellKnownCache', () => {
  function setup(answers: ConstructorParameters<typeof FakeWellKnownFetcher>[0]) {
    let now = 1_000_000;
    const fetcher = new FakeWellKnownFetcher(answers);
    const cache = new WellKnownCache(fetcher, { now: () => now });
    return { fetcher, cache, advance: (ms: number) => (now += ms) };
  }

  it('keeps an answer for its max-age, then fetches it again', async () => {
    const { fetcher, cache, advance } = setup({ 'example.com': wellKnownAnswer({ 'm.server': 'a.example.com' }, { 'cache-control': 'max-age=7200' }) });
    await expect(cache.lookup('example.com')).resolves.toEqual({ ok: true, delegated: 'a.example.com' });
    advance(2 * HOUR - 1);
    await cache.lookup('example.com');
    expect(fetcher.fetched).toEqual(['example.com']);
    fetcher.answers['example.com'] = wellKnownAnswer({ 'm.server': 'b.example.com' });
    advance(1);
    await expect(cache.lookup('example.com')).resolves.toEqual({ ok: true, delegated: 'b.example.com' });
    expect(fetcher.fetched).toEqual(['example.com', 'example.com']);
  });

  it.each([
    ['no caching headers', {}, WELL_KNOWN_DEFAULT_CACHE_MS],
    ['a max-age beyond 48 hours', { 'cache-control': `max-age=${7 * 24 * 3600}` }, WELL_KNOWN_MAX_CACHE_MS],
    ['max-age=0', { 'cache-control': 'max-age=0' }, WELL_KNOWN_MIN_CACHE_MS],
  ])('with %s (%j) keeps the answer %s ms', async (_what, headers, keptMs) => {
    const { fetcher, cache, advance } = setup({ 'example.com': wellKnownAnswer({ 'm.server': 'a.example.com' }, headers) });
    await cache.lookup('example.com');
    advance(keptMs - 1);
    await cache.lookup('example.com');
    expect(fetcher.fetched).toHaveLength(1);
    advance(1);
    await cache.lookup('example.com');
    expect(fetcher.fetched).toHaveLength(2);
  });

  it('keeps a failure (no answer, or an invalid one) for an hour', async () => {
    const { fetcher, cache, advance } = setup({ 'invalid.example': wellKnownAnswer('<html>') });
    await expect(cache.lookup('down.example')).resolves.toEqual({ ok: false, reason: expect.stringMatching(/ECONNREFUSED/) });
    await expect(cache.lookup('invalid.example')).resolves.toEqual({ ok: false, reason: expect.stringMatching(/not JSON/) });
    advance(WELL_KNOWN_FAILURE_CACHE_MS - 1);
    await cache.lookup('down.example');
    await cache.lookup('invalid.example');
    expect(fetcher.fetched).toEqual(['down.example', 'invalid.example']);
    fetcher.answers['down.example'] = wellKnownAnswer({ 'm.server': 'up.example' });
    advance(1);
    await expect(cache.lookup('down.example')).resolves.toEqual({ ok: true, delegated: 'up.example' });
  });

  it('fetches once for concurrent lookups of one hostname', async () => {
    const { fetcher, cache } = setup({ 'example.com': wellKnownAnswer({ 'm.server': 'a.example.com' }) });
    await Promise.all([cache.lookup('example.com'), cache.lookup('example.com'), cache.lookup('example.com')]);
    expect(fetcher.fetched).toEqual(['example.com']);
  });

  it('holds at most maxEntries hostnames, dropping the oldest', async () => {
    const fetcher = new FakeWellKnownFetcher();
    const cache = new WellKnownCache(fetcher, { maxEntries: 2 });
    for (const name of ['a.example', 'b.example', 'c.example', 'b.example', 'a.example']) await cache.lookup(name);
    expect(fetcher.fetched).toEqual(['a.example', 'b.example', 'c.example', 'a.example']);
  });
});
