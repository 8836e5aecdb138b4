import fc from 'fast-check';
import { createNativeEd25519Backend } from './ed25519-backend';
import { formatSigningKey, generateSigningKey, parseSigningKey } from './signing-key';

describe('signing key text form (Synapse signing.key)', () => {
  it('round-trips a generated key, with the Synapse-style a_XXXX version', async () => {
    const backend = (await createNativeEd25519Backend())!;
    const key = generateSigningKey(backend);
    if (!key.ok) throw new Error(key.error);
    expect(key.value.version).toMatch(/^a_[a-zA-Z0-9]{4}$/);
    const text = formatSigningKey(key.value);
    expect(text).toMatch(/^ed25519 a_\w{4} [A-Za-z0-9+/]{43}$/);
    const parsed = parseSigningKey(`${text}\n`);
    expect(parsed.ok && parsed.value).toEqual(key.value);
  });

  it.each([
    ['ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1', true],
    ['ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0=', true],
    ['curve25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1', false],
    ['ed25519 bad-version YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1', false],
    ['ed25519 1 AAAA', false],
    ['ed25519 1', false],
  ])('parseSigningKey(%j) accepted: %s', (text, accepted) => {
    expect(parseSigningKey(text).ok).toBe(accepted);
  });

  it('property: never throws on garbage', () => {
    fc.assert(fc.property(fc.string(), (text) => void parseSigningKey(text)));
  });
});
