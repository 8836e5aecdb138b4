import { formatSyncToken, parseSyncToken } from './sync-token';

describe('sync tokens', () => {
  it('round-trip a vector of partition offsets', () => {
    const token = [-1, 0, 5, 1234567890123];
    expect(formatSyncToken(token)).toBe('s1_-1.0.5.1234567890123');
    expect(parseSyncToken(formatSyncToken(token), 4)).toEqual(token);
  });

  it.each(['', 's1_', 's2_1.2', 's1_1..2', 's1_a.b', 's1_-2.0', 'garbage', 's1_1.2.3'])('refuses %j with M_INVALID_PARAM', (text) => {
    expect(() => parseSyncToken(text, 2)).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
  });
});
