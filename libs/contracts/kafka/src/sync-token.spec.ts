import { roomOutputTopic } from './room-topics';
import { emptySyncToken, formatSyncToken, isSyncToken, parseSyncToken, roomPositionOf, SYNC_STREAMS, type SyncToken } from './sync-token';

describe('sync tokens', () => {
  function tokenWith(offset: (stream: number, partition: number) => number): SyncToken {
    const streams = Object.fromEntries(SYNC_STREAMS.map(([name, topic], s) => [name, Array.from({ length: topic.partitions }, (_, p) => offset(s, p))]));
    return { ...streams, roomOrderings: Array.from({ length: roomOutputTopic.partitions }, (_, p) => (p === 1 ? -1 : 500 + p)) } as unknown as SyncToken;
  }

  it('round-trip the offsets of every partition of every stream, and the room orderings', () => {
    const token = tokenWith((s, p) => (p === 0 ? -1 : s * 1_000_000_000_000 + p));
    const text = formatSyncToken(token);
    expect(text.startsWith('s3_-1.1.2.')).toBe(true);
    expect(text.endsWith('_500.-1.502.503.504.505.506.507.508.509.510.511.512.513.514.515')).toBe(true);
    expect(text.split('_')).toHaveLength(SYNC_STREAMS.length + 2);
    expect(parseSyncToken(text)).toEqual(token);
    expect(parseSyncToken(formatSyncToken(emptySyncToken()))).toEqual(emptySyncToken());
  });

  it('give the room position of a partition, and refuse one from a token without orderings', () => {
    const token = tokenWith(() => 7);
    expect(roomPositionOf(token, [3])).toBe(503);
    expect(roomPositionOf(token, [1])).toBe(-1);
    // A room in two partitions (its old one under the count the token was written with): the higher.
    expect(roomPositionOf(token, [3, 1])).toBe(503);
    expect(roomPositionOf(token, [3, 5])).toBe(505);
    const old = formatSyncToken(token).replace(/^s3_/, 's2_').replace(/_[^_]*$/, '');
    expect(isSyncToken(old)).toBe(true);
    const parsed = parseSyncToken(old);
    expect(parsed.rooms).toEqual(token.rooms);
    expect(parsed.roomOrderings).toBeUndefined();
    expect(() => roomPositionOf(parsed, [3])).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
  });

  it('read the positions of partitions added since a token was written as -1, before everything', () => {
    const token = tokenWith((s, p) => s * 100 + p);
    // Written when hs.room.output.v1 had 4 partitions and the receipts topic 2.
    const parts = formatSyncToken(token).split('_');
    const cut = (index: number, keep: number): string => parts[index]!.split('.').slice(0, keep).join('.');
    const rooms = SYNC_STREAMS.findIndex(([name]) => name === 'rooms') + 1;
    const receipts = SYNC_STREAMS.findIndex(([name]) => name === 'receipts') + 1;
    const old = parts.map((part, index) => (index === rooms || index === parts.length - 1 ? cut(index, 4) : index === receipts ? cut(index, 2) : part)).join('_');
    const parsed = parseSyncToken(old);
    expect(parsed.rooms).toEqual([...token.rooms.slice(0, 4), ...Array.from({ length: roomOutputTopic.partitions - 4 }, () => -1)]);
    expect(parsed.receipts).toEqual([...token.receipts.slice(0, 2), ...Array.from({ length: token.receipts.length - 2 }, () => -1)]);
    expect(parsed.roomOrderings).toEqual([...token.roomOrderings!.slice(0, 4), ...Array.from({ length: roomOutputTopic.partitions - 4 }, () => -1)]);
    expect(parsed.accountData).toEqual(token.accountData);
    expect(parsed.roomPartitionsWritten).toBe(4);
    expect(parseSyncToken(formatSyncToken(token)).roomPartitionsWritten).toBeUndefined();
  });

  it('are told apart from pagination tokens', () => {
    expect(isSyncToken(formatSyncToken(emptySyncToken()))).toBe(true);
    expect(isSyncToken('t42')).toBe(false);
  });

  const good = formatSyncToken(emptySyncToken());
  it.each([
    '',
    's3_',
    'garbage',
    good.replace('s3_', 's1_'),
    good.replace('s3_', 's2_'),
    `${good}_-1`,
    good.replace('_-1.', '_-2.'),
    good.replace('_-1.', '_a.'),
    good.replace('_-1.', '_.'),
    good.replace('_-1.', '_-1.-1.'),
    good.replace('-1.', '1234567890123456789.'),
    `${good}.-1`,
  ])('refuses %j with M_INVALID_PARAM', (text) => {
    expect(() => parseSyncToken(text)).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
  });
});
