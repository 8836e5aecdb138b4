import { emptySyncToken, formatSyncToken, parseSyncToken, SYNC_STREAMS, type SyncToken } from './sync-token';

describe('sync tokens', () => {
  function tokenWith(offset: (stream: number, partition: number) => number): SyncToken {
    return Object.fromEntries(SYNC_STREAMS.map(([name, topic], s) => [name, Array.from({ length: topic.partitions }, (_, p) => offset(s, p))])) as unknown as SyncToken;
  }

  it('round-trip the offsets of every partition of every stream', () => {
    const token = tokenWith((s, p) => (p === 0 ? -1 : s * 1_000_000_000_000 + p));
    const text = formatSyncToken(token);
    expect(text.startsWith('s2_-1.1.2.')).toBe(true);
    expect(text.split('_')).toHaveLength(SYNC_STREAMS.length + 1);
    expect(parseSyncToken(text)).toEqual(token);
    expect(parseSyncToken(formatSyncToken(emptySyncToken()))).toEqual(emptySyncToken());
  });

  const good = formatSyncToken(emptySyncToken());
  it.each([
    '',
    's2_',
    'garbage',
    good.replace('s2_', 's1_'),
    `${good}_-1`,
    good.replace('_-1.', '_-2.'),
    good.replace('_-1.', '_a.'),
    good.replace('_-1.', '_.'),
    good.replace('_-1.-1', '_-1'),
    good.replace('-1.', '1234567890123456789.'),
  ])('refuses %j with M_INVALID_PARAM', (text) => {
    expect(() => parseSyncToken(text)).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
  });
});
