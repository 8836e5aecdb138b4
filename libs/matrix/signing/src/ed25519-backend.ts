import * as crypto from 'node:crypto';
import * as sodiumNamespace from 'libsodium-wrappers';

/** Length in bytes of an Ed25519 seed (the private key as Matrix stores it), public key and signature. */
export const ED25519_SEED_BYTES = 32;
/** Length in bytes of an Ed25519 public key. */
export const ED25519_PUBLIC_KEY_BYTES = 32;
/** Length in bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_BYTES = 64;

/**
 * The `ed25519` signing algorithm ("as implemented by NACL"), behind a small port so
 * that the same signatures come from libsodium or from Node's native crypto. A backend
 * is created asynchronously (libsodium loads WebAssembly) and is synchronous afterwards.
 * Ed25519 is deterministic: every backend gives the same signature for a seed and message.
 *
 * `sign` and `publicKeyFromSeed` throw on a seed that is not 32 bytes (a bug in our own
 * code); `verify` never throws and answers `false` for malformed keys or signatures,
 * which come from other servers.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export interface Ed25519Backend {
  readonly name: 'libsodium' | 'native';
  /** A fresh random 32-byte seed. */
  generateSeed(): Uint8Array;
  /** The 32-byte public key of a seed. */
  publicKeyFromSeed(seed: Uint8Array): Uint8Array;
  /** The 64-byte detached signature of `message`. */
  sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /** Whether `signature` is a valid signature of `message` under `publicKey`. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * Which backend to use: `native` (node:crypto), `libsodium` (WebAssembly), or `auto`
 * (native when this runtime supports Ed25519, libsodium otherwise).
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export type Ed25519BackendPreference = 'auto' | 'libsodium' | 'native';

function assertSeed(seed: Uint8Array): void {
  if (seed.length !== ED25519_SEED_BYTES) {
    throw new RangeError(`an ed25519 seed is ${ED25519_SEED_BYTES} bytes, got ${seed.length}`);
  }
}

function hasVerifiableShape(publicKey: Uint8Array, signature: Uint8Array): boolean {
  return publicKey.length === ED25519_PUBLIC_KEY_BYTES && signature.length === ED25519_SIGNATURE_BYTES;
}

type Sodium = typeof sodiumNamespace;

/**
 * Creates the libsodium backend, waiting for its WebAssembly module to load.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export async function createLibsodiumEd25519Backend(): Promise<Ed25519Backend> {
  // Deriving the key pair from the seed is half the cost of a signature: keep it per key.
  const privateKeys = new KeyCache<Uint8Array>(16);
  await sodiumNamespace.ready;
  // libsodium-wrappers (CommonJS) adds its functions to module.exports only once `ready`
  // resolves; a namespace import is a copy taken earlier, so use the live module object
  // that the CommonJS interop keeps under `default` when there is one.
  const sodium = (sodiumNamespace as unknown as { default?: Sodium }).default ?? sodiumNamespace;
  return {
    name: 'libsodium',
    generateSeed: () => sodium.randombytes_buf(ED25519_SEED_BYTES),
    publicKeyFromSeed(seed) {
      assertSeed(seed);
      return sodium.crypto_sign_seed_keypair(seed).publicKey;
    },
    sign(seed, message) {
      assertSeed(seed);
      const privateKey = privateKeys.get(seed, () => sodium.crypto_sign_seed_keypair(seed).privateKey);
      return sodium.crypto_sign_detached(message, privateKey);
    },
    verify(publicKey, message, signature) {
      if (!hasVerifiableShape(publicKey, signature)) return false;
      return sodium.crypto_sign_verify_detached(signature, message, publicKey);
    },
  };
}

// DER prefixes of an Ed25519 key (OID 1.3.101.112) in PKCS#8 (RFC 8410 §7) and SPKI form,
// followed by the 32 raw bytes.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function privateKeyFromSeed(seed: Uint8Array): crypto.KeyObject {
  assertSeed(seed);
  return crypto.createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_PREFIX, seed)), format: 'der', type: 'pkcs8' });
}

/**
 * Creates the node:crypto backend, or returns `undefined` when this runtime cannot do
 * Ed25519 (Node has supported it since v12; other runtimes may not).
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export async function createNativeEd25519Backend(): Promise<Ed25519Backend | undefined> {
  // Parsing a DER key costs more than the signature itself: keep the key objects of the
  // few keys a server uses (its own, and the servers it talks to), bounded.
  const privateKeys = new KeyCache<crypto.KeyObject>(16);
  const publicKeys = new KeyCache<crypto.KeyObject>(4096);
  const backend: Ed25519Backend = {
    name: 'native',
    generateSeed: () => new Uint8Array(crypto.randomBytes(ED25519_SEED_BYTES)),
    publicKeyFromSeed(seed) {
      const spki = crypto.createPublicKey(privateKeyFromSeed(seed)).export({ format: 'der', type: 'spki' });
      return new Uint8Array(spki.subarray(spki.length - ED25519_PUBLIC_KEY_BYTES));
    },
    sign(seed, message) {
      const key = privateKeys.get(seed, () => privateKeyFromSeed(seed));
      return new Uint8Array(crypto.sign(null, message, key));
    },
    verify(publicKey, message, signature) {
      if (!hasVerifiableShape(publicKey, signature)) return false;
      const key = publicKeys.get(publicKey, () =>
        crypto.createPublicKey({ key: Buffer.from(concatBytes(SPKI_PREFIX, publicKey)), format: 'der', type: 'spki' }),
      );
      return crypto.verify(null, message, key, signature);
    },
  };
  try {
    const seed = new Uint8Array(ED25519_SEED_BYTES);
    const message = new Uint8Array([1]);
    if (!backend.verify(backend.publicKeyFromSeed(seed), message, backend.sign(seed, message))) return undefined;
  } catch (error) {
    // Only an unsupported-algorithm runtime ends up here; the probe's inputs are fixed.
    if (error instanceof Error) return undefined;
    throw error;
  }
  return backend;
}

/**
 * Creates the preferred backend. `auto` picks native when available, else libsodium;
 * `native` rejects when the runtime lacks Ed25519.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export async function selectEd25519Backend(preference: Ed25519BackendPreference): Promise<Ed25519Backend> {
  if (preference === 'libsodium') return createLibsodiumEd25519Backend();
  const native = await createNativeEd25519Backend();
  if (native) return native;
  if (preference === 'native') throw new Error('this runtime has no native Ed25519 support');
  return createLibsodiumEd25519Backend();
}

/**
 * A small map from key bytes to a derived key, evicting the least recently used entry.
 * Holds only what the process already holds (its seeds, peers' public keys).
 */
class KeyCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(bytes: Uint8Array, derive: () => V): V {
    const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    const hit = this.entries.get(id);
    if (hit !== undefined) {
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit;
    }
    const value = derive();
    this.entries.set(id, value);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return value;
  }
}
