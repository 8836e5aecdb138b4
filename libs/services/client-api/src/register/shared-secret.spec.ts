import { computeRegistrationMac, isRegistrationMacValid } from './shared-secret';

// Vectors computed independently with Python's hmac module:
// hmac.new(b'shared-secret', b'abc123\x00alice\x00correct horse\x00notadmin', hashlib.sha1).hexdigest()
const request = { nonce: 'abc123', username: 'alice', password: 'correct horse', admin: false };

describe('shared-secret registration MAC', () => {
  it('is hex HMAC-SHA1 over nonce, username, password and admin flag, NUL-separated', () => {
    expect(computeRegistrationMac('shared-secret', request)).toBe('d1edef3760cadcb519699eb683cf7284ae6a39c4');
    expect(computeRegistrationMac('shared-secret', { ...request, admin: true })).toBe('ccc83fd1ed50560c3f1c435f7d42619208c39c9f');
  });

  it('accepts the right MAC (any hex case) and refuses others', () => {
    expect(isRegistrationMacValid('shared-secret', request, 'd1edef3760cadcb519699eb683cf7284ae6a39c4')).toBe(true);
    expect(isRegistrationMacValid('shared-secret', request, 'D1EDEF3760CADCB519699EB683CF7284AE6A39C4')).toBe(true);
    expect(isRegistrationMacValid('other-secret', request, 'd1edef3760cadcb519699eb683cf7284ae6a39c4')).toBe(false);
    expect(isRegistrationMacValid('shared-secret', { ...request, admin: true }, 'd1edef3760cadcb519699eb683cf7284ae6a39c4')).toBe(false);
    expect(isRegistrationMacValid('shared-secret', request, 'd1edef')).toBe(false);
    expect(isRegistrationMacValid('shared-secret', request, '')).toBe(false);
  });
});
