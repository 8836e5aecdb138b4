import { formatSyncToken, parseSyncToken } from './sync-token';

describe('sync tokens', () => {
  const partitions = { rooms: 4, accountData: 2 };

  it('round-trip the offsets of every stream', () => {
    const token = { rooms: [-1, 0, 5, 1234567890123], accountData: [7, -1] };
    expect(formatSyncToken(token)).toBe('s1_-1.0.5.1234567890123_7.-1');
    expect(parseSyncToken(formatSyncToken(token), partitions)).toEqual(token);
  });

  it.each(['', 's1_', 's1_1.2.3.4', 's2_1.2.3.4_1.2', 's1_1..2.3.4_1.2', 's1_a.b.c.d_1.2', 's1_-2.0.0.0_1.2', 'garbage', 's1_1.2.3_1.2', 's1_1.2.3.4_1'])(
    'refuses %j with M_INVALID_PARAM',
    (text) => {
      expect(() => parseSyncToken(text, partitions)).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
    },
  );
});
