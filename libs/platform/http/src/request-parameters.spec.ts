import { checkRequestParameters, MAX_PATH_PARAMETER_BYTES } from './request-parameters';

const problem = (params: Record<string, unknown>, query: Record<string, unknown> = {}): string | undefined => {
  const error = checkRequestParameters(params, query);
  return error === undefined ? undefined : `${error.errcode} ${error.status}`;
};
const refused = 'M_INVALID_PARAM 400';
const bytes = (n: number, unit = 'a'): string => unit.repeat(n / Buffer.byteLength(unit));

describe('checkRequestParameters', () => {
  describe('path parameters, by name', () => {
    it.each([
      ['roomId', '!abc:example.org'],
      ['roomId', `!${'A'.repeat(43)}`],
      ['userId', '@alice:example.org'],
      ['userId', '@Historical.User:example.org'],
      ['userId', `@${bytes(255 - '@:example.org'.length)}:example.org`],
      ['roomAlias', '#room:example.org'],
      ['roomIdOrAlias', '#room:example.org'],
      ['roomIdOrAlias', '!abc:example.org'],
      ['eventId', `$${'A'.repeat(43)}`],
      ['eventId', '$unknown:example.org'],
      ['deviceId', 'ABCDEFGH'],
      ['eventType', 'm.room.message'],
      ['*', ''],
      ['txnId', bytes(MAX_PATH_PARAMETER_BYTES)],
      ['tag', bytes(MAX_PATH_PARAMETER_BYTES, 'é')],
      ['keyName', bytes(300)],
    ])('accepts %s %j', (name, value) => {
      expect(problem({ [name]: value })).toBeUndefined();
    });

    it.each([
      ['roomId', 'abc:example.org', 'no sigil'],
      ['roomId', '!abc', 'no domain, not a hash'],
      ['userId', `@${bytes(256 - '@:example.org'.length)}:example.org`, 'over 255 bytes'],
      ['userId', 'alice', 'no sigil'],
      ['roomAlias', '#:example.org', 'empty localpart'],
      ['roomIdOrAlias', 'room', 'neither'],
      ['eventId', 'nope', 'no sigil'],
      ['eventId', '$nope', 'in no room version\'s format'],
      ['eventId', `$${bytes(250)}:example.org`, 'over 255 bytes'],
      ['deviceId', '', 'empty'],
      ['txnId', bytes(MAX_PATH_PARAMETER_BYTES + 1), 'over 255 bytes'],
      ['tag', bytes(MAX_PATH_PARAMETER_BYTES + 2, 'é'), 'over 255 bytes in UTF-8'],
      ['txnId', 'a\u0000b', 'U+0000'],
      ['*', 'state\u0000key', 'U+0000'],
      ['keyName', 'k\u0000', 'U+0000'],
      ['eventType', `m.${String.fromCharCode(0xd800)}`, 'a lone surrogate'],
    ])('refuses %s %j (%s) with M_INVALID_PARAM', (name, value) => {
      expect(problem({ [name]: value })).toBe(refused);
    });
  });

  describe('query parameters', () => {
    it.each([
      [{ limit: '10' }],
      [{ limit: '-1' }],
      [{ limit: '9007199254740991' }],
      [{ timeout: '0' }],
      [{ full_state: 'true' }],
      [{ via: ['a.org', 'b.org'] }],
      [{ server_name: ['a.org', 'b.org'] }],
      [{ since: 's1_2', dir: 'b' }],
      [{ filter: '7' }],
      [{ filter: '{"room":{"timeline":{"limit":5}}}' }],
      [{ unknown: 'anything' }],
    ])('accepts %j', (query) => {
      expect(problem({}, query)).toBeUndefined();
    });

    it.each<[Record<string, unknown>, string]>([
      [{ limit: '' }, 'not an integer'],
      [{ limit: '1e3' }, 'not an integer'],
      [{ limit: '1.5' }, 'not an integer'],
      [{ limit: '9007199254740992' }, 'beyond 2**53 - 1'],
      [{ timeout: '99999999999999999999' }, 'beyond 2**53 - 1'],
      [{ full_state: 'yes' }, 'not a boolean'],
      [{ since: ['a', 'b'] }, 'given twice'],
      [{ filter: ['{}', '{}'] }, 'given twice'],
      [{ from: 't1\u0000' }, 'U+0000'],
      [{ 'a\u0000': '1' }, 'U+0000 in the name'],
      [{ filter: '{"types":["\\u0000"]}' }, 'U+0000 inside an inline filter'],
    ])('refuses %j (%s)', (query, _why) => {
      expect(problem({}, query)).toMatch(/^M_(INVALID_PARAM|BAD_JSON) 400$/);
    });

    it('holds an inline filter to the body rules: depth and numbers are M_BAD_JSON', () => {
      expect(problem({}, { filter: `${'{"a":'.repeat(100)}{}${'}'.repeat(100)}` })).toBe('M_BAD_JSON 400');
      expect(problem({}, { filter: '{"limit":18446744073709551616}' })).toBe('M_BAD_JSON 400');
    });
  });
});
