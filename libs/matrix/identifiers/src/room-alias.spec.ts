import { getRoomAliasLocalpart, getRoomAliasServerName, parseRoomAlias } from './room-alias';

describe('room aliases (appendices, "Room Aliases")', () => {
  it.each([
    ['#room:example.org', 'room', 'example.org'],
    ['#Room_Name-1:matrix.org:8448', 'Room_Name-1', 'matrix.org:8448'],
    ['#café 🎉:example.org', 'café 🎉', 'example.org'],
    ['#x:[::1]', 'x', '[::1]'],
  ])('%s is a room alias (localpart %s on %s)', (input, localpart, server) => {
    const result = parseRoomAlias(input);
    if (!result.ok) throw new Error(result.error);
    expect(getRoomAliasLocalpart(result.value)).toBe(localpart);
    expect(getRoomAliasServerName(result.value)).toBe(server);
  });

  it.each([
    ['', 'empty'],
    ['room:example.org', 'no sigil'],
    ['@room:example.org', 'wrong sigil'],
    ['#room', 'no domain'],
    ['#:example.org', 'empty localpart'],
    ['#room:', 'empty domain'],
    ['#room:example.org:', 'trailing colon'],
    ['#ro\u0000om:example.org', 'NUL'],
    ['#ro\udc00om:example.org', 'lone surrogate'],
    [`#${'ä'.repeat(122)}:example.org`, '257 bytes in 136 characters'],
  ])('%j is not a room alias (%s)', (input) => {
    expect(parseRoomAlias(input).ok).toBe(false);
  });

  it('allows exactly 255 bytes', () => {
    expect(parseRoomAlias(`#${'ä'.repeat(120)}a:example.org`).ok).toBe(true);
  });
});
