import { isServerAllowedByAcl } from './server-acl';

describe('isServerAllowedByAcl (spec: m.room.server_acl)', () => {
  // The spec's example event content.
  const example = { allow: ['*'], allow_ip_literals: false, deny: ['*.evil.com', 'evil.com'] };

  it.each([
    ['no ACL', undefined, 'anything.example', true],
    ['the example allows others', example, 'good.example', true],
    ['a deny match, any port', example, 'evil.com:8448', false],
    ['a deny wildcard', example, 'sub.evil.com', false],
    ['an IP literal when literals are off', example, '1.2.3.4:8448', false],
    ['an IPv6 literal when literals are off', example, '[::1]:8448', false],
    ['an IP literal when literals are on', { allow: ['*'] }, '1.2.3.4', true],
    ['no allow list denies everyone', { deny: [] }, 'good.example', false],
    ['an allow match with ?', { allow: ['hs?.test'] }, 'hs1.test:443', true],
    ['? is exactly one character', { allow: ['hs?.test'] }, 'hs10.test', false],
    ['deny before allow', { allow: ['*.test'], deny: ['bad.test'] }, 'bad.test', false],
    ['case-insensitive', { allow: ['*'], deny: ['EVIL.com'] }, 'evil.COM', false],
    ['regex characters are literal', { allow: ['a+b.test'] }, 'aab.test', false],
  ])('%s', (_name, acl, server, allowed) => {
    expect(isServerAllowedByAcl(acl, server)).toBe(allowed);
  });
});
