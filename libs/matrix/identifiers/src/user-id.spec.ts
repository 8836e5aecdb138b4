import { parseServerName, type ServerName } from './server-name';
import {
  composeUserId,
  getUserIdGrammar,
  getUserIdLocalpart,
  getUserIdServerName,
  parseHistoricalUserId,
  parseUserId,
  type UserId,
} from './user-id';

function historical(input: string): UserId {
  const result = parseHistoricalUserId(input);
  if (!result.ok) throw new Error(`expected ${input} to parse: ${result.error}`);
  return result.value;
}

// A user ID of exactly `bytes` UTF-8 bytes on example.org, with a historical localpart
// of 3-byte characters where `multibyte` is set.
function userIdOfBytes(bytes: number, multibyte: boolean): string {
  const fixed = '@:example.org'.length;
  const room = bytes - fixed;
  return multibyte ? `@${'€'.repeat(Math.floor(room / 3))}${'a'.repeat(room % 3)}:example.org` : `@${'a'.repeat(room)}:example.org`;
}

describe('user IDs (appendices, "User Identifiers")', () => {
  it.each([
    ['@user:matrix.org', 'user', 'matrix.org'],
    ['@alice:example.com:8448', 'alice', 'example.com:8448'],
    ['@a.b_c=d-e/f+g:example.org', 'a.b_c=d-e/f+g', 'example.org'],
    ['@0123456789:1.2.3.4', '0123456789', '1.2.3.4'],
    ['@bob:[::1]:8448', 'bob', '[::1]:8448'],
    ['@bob:[1234:5678::abcd]', 'bob', '[1234:5678::abcd]'],
  ])('%s meets the current grammar (localpart %s on %s)', (input, localpart, server) => {
    const result = parseUserId(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(getUserIdLocalpart(result.value)).toBe(localpart);
    expect(getUserIdServerName(result.value)).toBe(server);
    expect(getUserIdGrammar(result.value)).toBe('current');
  });

  it.each([
    ['@USER:matrix.org', 'upper-case localpart'],
    ['@user*:matrix.org', '"*" is a wildcard in filters'],
    ['@:matrix.org', 'empty localpart'],
    ['@us er:matrix.org', 'space'],
    ['@üser:matrix.org', 'non-ASCII'],
  ])('%j is refused by the current grammar (%s)', (input) => {
    expect(parseUserId(input).ok).toBe(false);
  });

  it.each([
    ['user:matrix.org', 'no sigil'],
    ['#user:matrix.org', 'wrong sigil'],
    ['@user', 'no domain'],
    ['@user:', 'empty domain'],
    ['@user:matrix.org:', 'trailing colon'],
    ['@user:matrix.org:0', 'port 0'],
    ['@user:[1:2:3:4:5:6:7:8:9]', 'invalid IPv6 domain'],
    ['@us\u0000er:matrix.org', 'NUL'],
    ['@us\ud800er:matrix.org', 'lone surrogate'],
  ])('%j is not a user ID under either grammar (%s)', (input) => {
    expect(parseUserId(input).ok).toBe(false);
    expect(parseHistoricalUserId(input).ok).toBe(false);
  });

  describe('historical user IDs', () => {
    it.each([
      ['@USER:matrix.org', 'historical'],
      ['@user*:matrix.org', 'historical'],
      ['@!"#$%&\'()*;<>?[\\]^`{|}~:matrix.org', 'historical'],
      ['@:matrix.org', 'non-compliant'],
      ['@us er:matrix.org', 'non-compliant'],
      ['@üser:matrix.org', 'non-compliant'],
      ['@\u0007bell:matrix.org', 'non-compliant'],
      ['@😀:matrix.org', 'non-compliant'],
    ] as const)('%j is accepted from other servers and flagged %s', (input, grammar) => {
      expect(getUserIdGrammar(historical(input))).toBe(grammar);
    });

    it('splits at the first colon, since localparts never contain one', () => {
      const id = historical('@USER:example.org:8448');
      expect(getUserIdLocalpart(id)).toBe('USER');
      expect(getUserIdServerName(id)).toBe('example.org:8448');
    });
  });

  describe('the 255-byte limit (bytes, not characters)', () => {
    it.each([
      [255, false, true],
      [256, false, false],
      [255, true, true],
      [256, true, false],
    ])('a %i-byte user ID (multibyte localpart: %s) is accepted: %s', (bytes, multibyte, accepted) => {
      const input = userIdOfBytes(bytes, multibyte);
      expect(new TextEncoder().encode(input).length).toBe(bytes);
      expect(parseHistoricalUserId(input).ok).toBe(accepted);
      if (!multibyte) expect(parseUserId(input).ok).toBe(accepted);
    });

    it('counts bytes: 100 three-byte characters exceed the limit in 113 characters', () => {
      const input = `@${'€'.repeat(100)}:example.org`;
      expect(input.length).toBeLessThan(255);
      expect(parseHistoricalUserId(input).ok).toBe(false);
    });
  });

  it('composes a user ID for this server only under the current grammar', () => {
    const server = parseServerName('example.org');
    if (!server.ok) throw new Error(server.error);
    const name: ServerName = server.value;
    expect(composeUserId('alice', name)).toEqual({ ok: true, value: '@alice:example.org' });
    expect(composeUserId('Alice', name).ok).toBe(false);
    expect(composeUserId('al:ice', name).ok).toBe(false);
  });
});
