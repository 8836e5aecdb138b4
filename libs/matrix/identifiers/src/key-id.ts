import type { Brand } from './brand';
import { err, ok, type Result } from '@axon/matrix-errors';
import { measureUtf8Bytes } from './unicode';

/**
 * A key ID, `algorithm:identifier`: the *signing key identifier* under which signatures
 * are stored, and the keys of `verify_keys`, device keys (`ed25519:DEVICE_ID`),
 * cross-signing keys (`ed25519:PUBLIC_KEY`) and one-time keys.
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-json
 */
export type KeyId = Brand<string, 'KeyId'>;

/**
 * A homeserver signing key ID, whose version must match `[a-zA-Z0-9_]` (for example
 * `ed25519:abc123`). Every server key ID is a key ID.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixkeyv2server
 */
export type ServerKeyId = KeyId & Brand<string, 'ServerKeyId'>;

const ALGORITHM = /^[\x21-\x39\x3b-\x7e]+$/;
const SERVER_KEY_VERSION = /^[a-zA-Z0-9_]+$/;

/**
 * Parses a key ID: a non-empty algorithm name (printable ASCII, no `:`; unknown
 * algorithms are accepted so that callers can skip them, as signature checking
 * requires), a `:`, and a non-empty identifier. The identifier is split at the first
 * `:` and otherwise unrestricted, because device IDs have no grammar.
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-json
 */
export function parseKeyId(input: string): Result<KeyId> {
  const colon = input.indexOf(':');
  if (colon < 0) return err('key ID must have the form algorithm:identifier');
  if (!ALGORITHM.test(input.slice(0, colon))) return err('key algorithm must be non-empty printable ASCII');
  const identifier = input.slice(colon + 1);
  if (identifier === '') return err('key identifier is empty');
  if (measureUtf8Bytes(identifier) === undefined) return err('key identifier contains a lone surrogate');
  if (identifier.includes('\u0000')) return err('key identifier contains NUL');
  return ok(input as KeyId);
}

/**
 * Parses a homeserver signing key ID: a key ID whose version matches `[a-zA-Z0-9_]+`.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixkeyv2server
 */
export function parseServerKeyId(input: string): Result<ServerKeyId> {
  const parsed = parseKeyId(input);
  if (!parsed.ok) return parsed;
  if (!SERVER_KEY_VERSION.test(getKeyIdVersion(parsed.value))) {
    return err('server key version may only contain a-z, A-Z, 0-9 and "_"');
  }
  return ok(input as ServerKeyId);
}

/**
 * The algorithm of a key ID, such as `ed25519`.
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-json
 */
export function getKeyIdAlgorithm(keyId: KeyId): string {
  return keyId.slice(0, keyId.indexOf(':'));
}

/**
 * The part after the algorithm: a server key's version, a device ID, or a cross-signing
 * public key.
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-json
 */
export function getKeyIdVersion(keyId: KeyId): string {
  return keyId.slice(keyId.indexOf(':') + 1);
}
