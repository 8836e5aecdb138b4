import { createHash } from 'node:crypto';
import {
  CanonicalJsonError,
  decodeBase64,
  encodeCanonicalJsonBytes,
  encodeUnpaddedBase64,
  type CanonicalJsonMode,
  type JsonObject,
  type JsonValue,
} from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import type { Ed25519Backend } from './ed25519-backend';
import type { SigningKey } from './signing-key';

/**
 * The `signatures` member of a signed object: entity name, then signing key identifier,
 * then unpadded Base64 signature.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export type Signatures = Record<string, Record<string, string>>;

/**
 * Options for `signJson`. `serverName` is the signing entity (a server name for server
 * keys). `mode` picks the canonical JSON number rules: `strict` (the default, the
 * appendix's algorithm) or `lenient` for events of room versions 1 to 5.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export interface SignJsonOptions {
  readonly serverName: string;
  readonly key: SigningKey;
  readonly backend: Ed25519Backend;
  readonly mode?: CanonicalJsonMode;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Sets an own property even for the name `__proto__`, which plain assignment would not.
function defineOwn<V>(target: Record<string, V>, name: string, value: V): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

function withoutKeys(object: JsonObject, keys: readonly string[]): JsonObject {
  const copy: JsonObject = {};
  for (const [name, value] of Object.entries(object)) {
    if (!keys.includes(name)) defineOwn(copy, name, value);
  }
  return copy;
}

/**
 * Signs a JSON object: encodes it without `signatures` and `unsigned` as canonical JSON,
 * signs the bytes, and returns a copy with the unpadded Base64 signature at
 * `signatures[serverName][keyId]`, other signatures and `unsigned` kept. The input is not
 * modified. Throws `CanonicalJsonError` if the object has no canonical form (our own data).
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#signing-details
 */
export function signJson<T extends JsonObject>(object: T, options: SignJsonOptions): T & { signatures: Signatures } {
  const bytes = encodeCanonicalJsonBytes(withoutKeys(object, ['signatures', 'unsigned']), { mode: options.mode ?? 'strict' });
  const signature = encodeUnpaddedBase64(options.backend.sign(options.key.seed, bytes));
  const existing = object['signatures'];
  const signatures: Signatures = {};
  if (isObject(existing)) {
    for (const [entity, byKey] of Object.entries(existing)) {
      if (isObject(byKey)) defineOwn(signatures, entity, withoutKeys(byKey, []) as Record<string, string>);
    }
  }
  const mine = Object.hasOwn(signatures, options.serverName) ? signatures[options.serverName]! : {};
  defineOwn(mine, options.key.keyId, signature);
  defineOwn(signatures, options.serverName, mine);
  const signed = withoutKeys(object, ['signatures']);
  signed['signatures'] = signatures;
  return signed as T & { signatures: Signatures };
}

/**
 * Why a signature check failed, in the order of the spec's steps:
 * - `missing_signature`: no `signatures[entity][keyId]` string (step 1);
 * - `invalid_public_key`: the verification key is not 32 bytes of Base64 (step 3);
 * - `invalid_base64`: the signature is not Base64 (step 4);
 * - `not_canonical`: the object has no canonical JSON form in this mode (step 6);
 * - `invalid_signature`: the signature does not match (step 7).
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#checking-for-a-signature
 */
export interface JsonSignatureError {
  readonly code: 'missing_signature' | 'invalid_public_key' | 'invalid_base64' | 'not_canonical' | 'invalid_signature';
  readonly message: string;
}

/**
 * Options for `verifyJsonSignature`: which entity's signature under which key ID, and the
 * verification key (raw bytes, or unpadded Base64 as in `verify_keys`).
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#checking-for-a-signature
 */
export interface VerifyJsonSignatureOptions {
  readonly serverName: string;
  readonly keyId: string;
  readonly publicKey: Uint8Array | string;
  readonly backend: Ed25519Backend;
  readonly mode?: CanonicalJsonMode;
}

/**
 * Checks that `object` carries a valid signature by `serverName` with `keyId`. Choosing
 * key IDs of understood algorithms and looking keys up (steps 2 and 3) are the caller's.
 * Never throws on untrusted input.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#checking-for-a-signature
 */
export function verifyJsonSignature(object: JsonObject, options: VerifyJsonSignatureOptions): Result<void, JsonSignatureError> {
  const signatures = object['signatures'];
  const byKey = isObject(signatures) && Object.hasOwn(signatures, options.serverName) ? signatures[options.serverName] : undefined;
  const signatureBase64 = isObject(byKey) && Object.hasOwn(byKey, options.keyId) ? byKey[options.keyId] : undefined;
  if (typeof signatureBase64 !== 'string') {
    return err({ code: 'missing_signature', message: `no signature by ${options.serverName} with ${options.keyId}` });
  }
  const publicKey = typeof options.publicKey === 'string' ? decodeBase64(options.publicKey) : ok(options.publicKey);
  if (!publicKey.ok || publicKey.value.length !== 32) {
    return err({ code: 'invalid_public_key', message: `verification key for ${options.keyId} is not 32 bytes of Base64` });
  }
  const signature = decodeBase64(signatureBase64);
  if (!signature.ok) return err({ code: 'invalid_base64', message: `signature: ${signature.error.message}` });
  let bytes: Uint8Array;
  try {
    bytes = encodeCanonicalJsonBytes(withoutKeys(object, ['signatures', 'unsigned']), { mode: options.mode ?? 'strict' });
  } catch (error) {
    if (error instanceof CanonicalJsonError) return err({ code: 'not_canonical', message: error.message });
    throw error;
  }
  if (!options.backend.verify(publicKey.value, bytes, signature.value)) {
    return err({ code: 'invalid_signature', message: `signature by ${options.serverName} with ${options.keyId} does not match` });
  }
  return ok(undefined);
}

/**
 * Computes an event's content hash: the SHA-256 of the canonical JSON of the event
 * without `unsigned`, `signatures` and `hashes`, as unpadded Base64 (the value of
 * `hashes.sha256`). `mode` is `lenient` for room versions 1 to 5. Throws
 * `CanonicalJsonError` when the event has no canonical form in that mode.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#calculating-the-content-hash-for-an-event
 */
export function computeContentHash(event: JsonObject, options: { readonly mode?: CanonicalJsonMode } = {}): string {
  const bytes = encodeCanonicalJsonBytes(withoutKeys(event, ['unsigned', 'signatures', 'hashes']), { mode: options.mode ?? 'strict' });
  return encodeUnpaddedBase64(new Uint8Array(createHash('sha256').update(bytes).digest()));
}
