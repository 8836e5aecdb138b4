import { MatrixError } from '@axon/matrix-errors';
import { userIdForLogin, userIdForUsername, userIdFromIdentifier } from './user-ids';

describe('usernames', () => {
  it.each(['alice', 'a.b_c=d-e/f+g', '0123', 'x'.repeat(200)])('accepts %s', (username) => {
    expect(userIdForUsername(username, 'hs.test')).toBe(`@${username}:hs.test`);
  });

  it('takes capital ASCII letters as lower-case ones', () => {
    expect(userIdForUsername('AliCE', 'hs.test')).toBe('@alice:hs.test');
  });

  it.each(['', 'al ice', 'Émile', 'al:ice', 'ali@ce', 'émile', 'x'.repeat(250)])('refuses %j with M_INVALID_USERNAME', (username) => {
    expect(() => userIdForUsername(username, 'hs.test')).toThrow(expect.objectContaining({ errcode: 'M_INVALID_USERNAME', status: 400 }) as MatrixError);
  });
});

describe('login identifiers', () => {
  it('takes a localpart or a full user ID of this server, case-insensitively', () => {
    expect(userIdForLogin('alice', 'hs.test')).toBe('@alice:hs.test');
    expect(userIdForLogin('Alice', 'hs.test')).toBe('@alice:hs.test');
    expect(userIdForLogin('@alice:hs.test', 'hs.test')).toBe('@alice:hs.test');
    expect(userIdForLogin('@alice:other.test', 'hs.test')).toBeUndefined();
    expect(userIdForLogin('not valid', 'hs.test')).toBeUndefined();
  });

  it('reads m.id.user, the legacy user field, and matches nobody for third-party identifiers', () => {
    expect(userIdFromIdentifier({ identifier: { type: 'm.id.user', user: 'bob' } }, 'hs.test')).toBe('@bob:hs.test');
    expect(userIdFromIdentifier({ user: '@bob:hs.test' }, 'hs.test')).toBe('@bob:hs.test');
    expect(userIdFromIdentifier({ identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@b.c' } }, 'hs.test')).toBeUndefined();
    expect(userIdFromIdentifier({ identifier: { type: 'm.id.phone', country: 'GB', phone: '123' } }, 'hs.test')).toBeUndefined();
    expect(userIdFromIdentifier({ medium: 'email', address: 'a@b.c' }, 'hs.test')).toBeUndefined();
  });

  it('refuses malformed identifiers', () => {
    expect(() => userIdFromIdentifier({}, 'hs.test')).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }) as MatrixError);
    expect(() => userIdFromIdentifier({ identifier: 'bob' }, 'hs.test')).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }) as MatrixError);
    expect(() => userIdFromIdentifier({ identifier: { type: 'm.id.user' } }, 'hs.test')).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }) as MatrixError);
    expect(() => userIdFromIdentifier({ identifier: { type: 'x.custom' } }, 'hs.test')).toThrow(expect.objectContaining({ errcode: 'M_UNKNOWN', status: 400 }) as MatrixError);
  });
});
