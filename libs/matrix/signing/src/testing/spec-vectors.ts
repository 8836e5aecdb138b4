import { decodeBase64 } from '@axon/matrix-canonical-json';
import { createLibsodiumEd25519Backend, createNativeEd25519Backend, type Ed25519Backend } from '../ed25519-backend';
import { createSigningKey, type SigningKey } from '../signing-key';

/** The signing key of https://spec.matrix.org/v1.19/appendices/#cryptographic-test-vectors */
export const SIGNING_KEY_SEED = 'YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1';
/** The server name the spec's vectors are signed for. */
export const SERVER_NAME = 'domain';

/** The spec's test key, `ed25519:1`. */
export function specKey(): SigningKey {
  const seed = decodeBase64(SIGNING_KEY_SEED);
  if (!seed.ok) throw new Error('seed');
  const key = createSigningKey('1', seed.value);
  if (!key.ok) throw new Error(key.error);
  return key.value;
}

/** Both Ed25519 backends, for `describe.each`. */
export const BACKENDS: Array<[string, () => Promise<Ed25519Backend | undefined>]> = [
  ['libsodium', createLibsodiumEd25519Backend],
  ['native', createNativeEd25519Backend],
];
