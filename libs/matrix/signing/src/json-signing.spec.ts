import fc from 'fast-check';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { createNativeEd25519Backend, type Ed25519Backend } from './ed25519-backend';
import { signJson, verifyJsonSignature } from './json-signing';
import { encodeVerifyKey, generateSigningKey, type SigningKey } from './signing-key';

describe('signJson / verifyJsonSignature', () => {
  let backend: Ed25519Backend;
  let key: SigningKey;
  let publicKey: string;
  beforeAll(async () => {
    backend = (await createNativeEd25519Backend())!;
    const generated = generateSigningKey(backend, 'k1');
    if (!generated.ok) throw new Error(generated.error);
    key = generated.value;
    publicKey = encodeVerifyKey(key, backend);
  });
  const verify = (object: JsonObject) => verifyJsonSignature(object, { serverName: 'a.example', keyId: key.keyId, publicKey, backend });

  it('keeps other signatures and unsigned, which the signature does not cover', () => {
    const signed = signJson({ x: 1, unsigned: { age: 5 }, signatures: { 'b.example': { 'ed25519:z': 'sig' } } }, { serverName: 'a.example', key, backend });
    expect(signed.unsigned).toEqual({ age: 5 });
    expect(signed.signatures['b.example']).toEqual({ 'ed25519:z': 'sig' });
    expect(verify({ ...signed, unsigned: { age: 99 } }).ok).toBe(true);
  });

  it.each<[string, (signed: JsonObject) => JsonObject, string]>([
    ['no signature by the entity', (s) => ({ ...s, signatures: {} }), 'missing_signature'],
    ['signatures is not an object', (s) => ({ ...s, signatures: 'x' }), 'missing_signature'],
    ['signature is not Base64', (s) => ({ ...s, signatures: { 'a.example': { 'ed25519:k1': '!!' } } }), 'invalid_base64'],
    ['a signed field changed', (s) => ({ ...s, x: 2 }), 'invalid_signature'],
    ['a float in strict mode', (s) => ({ ...s, x: 1.5 }), 'not_canonical'],
  ])('fails when %s', (_case, tamper, code) => {
    const signed = signJson({ x: 1 }, { serverName: 'a.example', key, backend });
    const result = verify(tamper(signed));
    expect(result.ok ? 'ok' : result.error.code).toBe(code);
  });

  it('property: a signature verifies, and fails after any single-byte change to a signed string field', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 40 }), fc.nat(), fc.integer({ min: 1, max: 127 }), (text, position, delta) => {
        const signed = signJson({ field: text }, { serverName: 'a.example', key, backend });
        expect(verify(signed).ok).toBe(true);
        const i = position % text.length;
        const changed = text.slice(0, i) + String.fromCharCode((text.charCodeAt(i) + delta) % 128) + text.slice(i + 1);
        const result = verify({ ...signed, field: changed });
        expect(result.ok ? 'ok' : result.error.code).toBe('invalid_signature');
      }),
      { numRuns: 100 },
    );
  });
});
