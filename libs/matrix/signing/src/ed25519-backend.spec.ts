import fc from 'fast-check';
import { createLibsodiumEd25519Backend, createNativeEd25519Backend, selectEd25519Backend, type Ed25519Backend } from './ed25519-backend';

describe('Ed25519 backends', () => {
  let sodium: Ed25519Backend;
  let native: Ed25519Backend;
  beforeAll(async () => {
    sodium = await createLibsodiumEd25519Backend();
    const created = await createNativeEd25519Backend();
    if (!created) throw new Error('native Ed25519 unavailable');
    native = created;
  });

  it('auto selects native on Node; libsodium when asked', async () => {
    expect((await selectEd25519Backend('auto')).name).toBe('native');
    expect((await selectEd25519Backend('libsodium')).name).toBe('libsodium');
  });

  it('both backends derive the same public key and the same signature, and verify each other', () => {
    const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(seed, fc.uint8Array({ maxLength: 256 }), (s, message) => {
        expect(native.publicKeyFromSeed(s)).toEqual(sodium.publicKeyFromSeed(s));
        const signature = native.sign(s, message);
        expect(sodium.sign(s, message)).toEqual(signature);
        const publicKey = sodium.publicKeyFromSeed(s);
        expect(sodium.verify(publicKey, message, signature)).toBe(true);
        expect(native.verify(publicKey, message, signature)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it.each(['libsodium', 'native'])('%s: verify answers false, never throws, for malformed keys and signatures', (name) => {
    const backend = name === 'native' ? native : sodium;
    expect(backend.verify(new Uint8Array(31), new Uint8Array(), new Uint8Array(64))).toBe(false);
    expect(backend.verify(new Uint8Array(32), new Uint8Array(), new Uint8Array(63))).toBe(false);
    expect(() => backend.sign(new Uint8Array(31), new Uint8Array())).toThrow(RangeError);
    expect(backend.generateSeed()).toHaveLength(32);
  });
});
