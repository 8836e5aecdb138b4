import { getKeyIdAlgorithm, getKeyIdVersion, parseKeyId, parseServerKeyId } from './key-id';

describe('key IDs (appendices, "Signing JSON"; server keys)', () => {
  it.each([
    ['ed25519:1', 'ed25519', '1', true],
    ['ed25519:abc123', 'ed25519', 'abc123', true],
    ['ed25519:0ldK3y', 'ed25519', '0ldK3y', true],
    ['ed25519:abc_1', 'ed25519', 'abc_1', true],
    ['ed25519:EGURVBUNJP', 'ed25519', 'EGURVBUNJP', true],
    ['curve25519:AAAAAQ', 'curve25519', 'AAAAAQ', true],
    ['signed_curve25519:AAAAHg', 'signed_curve25519', 'AAAAHg', true],
    ['ed25519:SogYyrkTldLz0BXP+GYWs0qaYacUI0RleEqNT8J3riQ', 'ed25519', 'SogYyrkTldLz0BXP+GYWs0qaYacUI0RleEqNT8J3riQ', false],
    ['ed25519:dev:ice', 'ed25519', 'dev:ice', false],
    ['org.example.future:k-1', 'org.example.future', 'k-1', false],
  ])('%s: algorithm %s, version %s; a server key ID: %s', (input, algorithm, version, serverKey) => {
    const result = parseKeyId(input);
    if (!result.ok) throw new Error(result.error);
    expect(getKeyIdAlgorithm(result.value)).toBe(algorithm);
    expect(getKeyIdVersion(result.value)).toBe(version);
    expect(parseServerKeyId(input).ok).toBe(serverKey);
  });

  it.each([
    ['', 'empty'],
    ['ed25519', 'no colon'],
    ['ed25519:', 'empty version'],
    [':abc', 'empty algorithm'],
    ['ed 25519:abc', 'space in algorithm'],
    ['ed25519:a\u0000b', 'NUL'],
  ])('%j is not a key ID (%s)', (input) => {
    expect(parseKeyId(input).ok).toBe(false);
    expect(parseServerKeyId(input).ok).toBe(false);
  });

  it.each(['ed25519:abc-1', 'ed25519:abc.1', 'ed25519:a/b', 'ed25519:ä'])(
    '%j is a key ID but not a server key ID: versions match [a-zA-Z0-9_]',
    (input) => {
      expect(parseKeyId(input).ok).toBe(true);
      expect(parseServerKeyId(input).ok).toBe(false);
    },
  );
});
