import { decodeBase64, encodeUnpaddedBase64 } from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import { parseServerKeyId, type ServerKeyId } from '@axon/matrix-identifiers';
import { ED25519_SEED_BYTES, type Ed25519Backend } from './ed25519-backend';

/**
 * A homeserver signing key: the `ed25519` algorithm, a version (`[a-zA-Z0-9_]+`, the
 * server key ID grammar) and the 32-byte seed. `keyId` is `ed25519:<version>`, the
 * *signing key identifier* under which signatures are stored.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export interface SigningKey {
  readonly algorithm: 'ed25519';
  readonly version: string;
  readonly keyId: ServerKeyId;
  readonly seed: Uint8Array;
}

/**
 * Makes a signing key from a version and a seed; refuses a version outside the server key
 * ID grammar or a seed that is not 32 bytes.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixkeyv2server
 */
export function createSigningKey(version: string, seed: Uint8Array): Result<SigningKey> {
  const keyId = parseServerKeyId(`ed25519:${version}`);
  if (!keyId.ok) return keyId;
  if (seed.length !== ED25519_SEED_BYTES) return err(`an ed25519 seed is ${ED25519_SEED_BYTES} bytes, got ${seed.length}`);
  return ok({ algorithm: 'ed25519', version, keyId: keyId.value, seed: Uint8Array.from(seed) });
}

const VERSION_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * Generates a new signing key with a fresh random seed. Without `version`, the version is
 * `a_` followed by four random letters and digits, as Synapse names its keys.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#publishing-keys
 */
export function generateSigningKey(backend: Ed25519Backend, version?: string): Result<SigningKey> {
  const chosen =
    version ??
    'a_' +
      Array.from(backend.generateSeed().subarray(0, 4), (byte) => VERSION_ALPHABET[byte % VERSION_ALPHABET.length]).join('');
  return createSigningKey(chosen, backend.generateSeed());
}

/**
 * The public (verify) key of a signing key as unpadded Base64, as published in
 * `verify_keys[keyId].key`.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixkeyv2server
 */
export function encodeVerifyKey(key: SigningKey, backend: Ed25519Backend): string {
  return encodeUnpaddedBase64(backend.publicKeyFromSeed(key.seed));
}

/**
 * Writes a signing key in the one-line text form Synapse's `signing.key` file uses
 * (`ed25519 <version> <unpadded Base64 seed>`, from the `signedjson` library), so keys
 * move between Synapse and Axon. The spec defines no storage format for server keys.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export function formatSigningKey(key: SigningKey): string {
  return `${key.algorithm} ${key.version} ${encodeUnpaddedBase64(key.seed)}`;
}

/**
 * Reads the form written by `formatSigningKey`: three fields separated by spaces or tabs,
 * surrounding whitespace (a trailing newline) ignored, the seed with or without Base64
 * padding. Never throws.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export function parseSigningKey(text: string): Result<SigningKey> {
  const fields = text.trim().split(/[ \t]+/);
  if (fields.length !== 3) return err('a signing key is "ed25519 <version> <base64 seed>" on one line');
  const [algorithm, version, seedBase64] = fields as [string, string, string];
  if (algorithm !== 'ed25519') return err(`unsupported signing key algorithm "${algorithm}"`);
  const seed = decodeBase64(seedBase64);
  if (!seed.ok) return err(`signing key seed: ${seed.error.message}`);
  return createSigningKey(version, seed.value);
}
