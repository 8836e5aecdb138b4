import { findVerifyKeyForEvent, findVerifyKeyForRequest, MAX_KEY_VALIDITY_MS, type ServerKeys } from './key-validity';

const keys: ServerKeys = {
  valid_until_ts: 2000,
  verify_keys: { 'ed25519:new': { key: 'NEW' } },
  old_verify_keys: { 'ed25519:old': { key: 'OLD', expired_ts: 1000 } },
};

describe('signing key validity', () => {
  it.each([
    ['ed25519:new', 1500, true, 'verify_keys'],
    ['ed25519:new', 2000, true, 'verify_keys'],
    ['ed25519:new', 2001, true, null],
    ['ed25519:new', 2001, false, 'verify_keys'],
    ['ed25519:old', 1000, true, 'old_verify_keys'],
    ['ed25519:old', 1001, true, null],
    ['ed25519:old', 5000, false, 'old_verify_keys'],
    ['ed25519:none', 0, false, null],
  ])('key %s for an event at %i (enforce valid_until_ts: %s) -> %s', (keyId, originServerTs, enforceValidUntilTs, source) => {
    const result = findVerifyKeyForEvent(keys, keyId, { originServerTs, enforceValidUntilTs });
    expect(result.ok ? result.value.source : null).toBe(source);
  });

  it('caps valid_until_ts at 7 days after fetching', () => {
    const far: ServerKeys = { ...keys, valid_until_ts: 10 * MAX_KEY_VALIDITY_MS };
    expect(findVerifyKeyForEvent(far, 'ed25519:new', { originServerTs: MAX_KEY_VALIDITY_MS + 1, enforceValidUntilTs: true, fetchedTs: 0 }).ok).toBe(false);
  });

  it('requests accept only current keys that have not passed valid_until_ts', () => {
    expect(findVerifyKeyForRequest(keys, 'ed25519:new', { nowTs: 1999 }).ok).toBe(true);
    expect(findVerifyKeyForRequest(keys, 'ed25519:new', { nowTs: 2001 }).ok).toBe(false);
    expect(findVerifyKeyForRequest(keys, 'ed25519:old', { nowTs: 0 }).ok).toBe(false);
  });
});
