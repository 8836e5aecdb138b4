import { createHmac } from 'node:crypto';
import { turnCredentials } from './turn-credentials';

const uris = ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'];

describe('turnCredentials', () => {
  it('follows the TURN REST API scheme with a shared secret: <expiry>:<user>, Base64 HMAC-SHA1', () => {
    const now = 1_700_000_000_123;
    const creds = turnCredentials({ uris, shared_secret: 's3cret', user_lifetime_ms: 86_400_000 }, '@alice:hs.test', now);
    expect(creds?.username).toBe('1700086400:@alice:hs.test');
    // coturn's check, done independently: HMAC-SHA1 keyed with the secret over the username, padded Base64.
    expect(creds?.password).toBe(createHmac('sha1', 's3cret').update('1700086400:@alice:hs.test').digest('base64'));
    expect(creds?.password).toMatch(/^[A-Za-z0-9+/]{27}=$/);
    expect(creds).toMatchObject({ uris, ttl: 86_400 });
  });

  it('prefers the shared secret over fixed credentials, and gives fixed ones without it', () => {
    const both = turnCredentials({ uris, shared_secret: 'x', username: 'u', password: 'p', user_lifetime_ms: 3_600_000 }, '@a:hs.test', 0);
    expect(both?.username).toBe('3600:@a:hs.test');
    expect(turnCredentials({ uris, username: 'u', password: 'p', user_lifetime_ms: 3_600_000 }, '@a:hs.test', 0)).toEqual({ username: 'u', password: 'p', uris, ttl: 3600 });
  });

  it('offers nothing without URIs, or without any credentials', () => {
    expect(turnCredentials({ uris: [], shared_secret: 'x', user_lifetime_ms: 3_600_000 }, '@a:hs.test', 0)).toBeUndefined();
    expect(turnCredentials({ uris, username: 'u', user_lifetime_ms: 3_600_000 }, '@a:hs.test', 0)).toBeUndefined();
  });
});
