import { createHash } from 'node:crypto';
import {
  CanonicalJsonError,
  decodeBase64,
  encodeCanonicalJsonBytes,
  type CanonicalJsonMode,
  type JsonObject,
} from '@axon/matrix-canonical-json';
import { isJsonObject, redactEvent, type RedactionRules } from '@axon/matrix-events';
import type { Result } from '@axon/matrix-errors';
import type { Ed25519Backend } from './ed25519-backend';
import { computeContentHash, signJson, verifyJsonSignature, type JsonSignatureError, type Signatures } from './json-signing';
import type { SigningKey } from './signing-key';

/**
 * Options for `signEvent`: the signing server and key, the room version's redaction rules
 * and canonical JSON mode (`lenient` for room versions 1 to 5; default `strict`).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#signing-events
 */
export interface SignEventOptions {
  readonly serverName: string;
  readonly key: SigningKey;
  readonly backend: Ed25519Backend;
  readonly redactionRules: RedactionRules;
  readonly mode?: CanonicalJsonMode;
}

function copyWith(object: JsonObject, name: string, value: JsonObject): JsonObject {
  const copy: JsonObject = {};
  for (const [key, existing] of Object.entries(object)) {
    Object.defineProperty(copy, key, { value: existing, enumerable: true, writable: true, configurable: true });
  }
  Object.defineProperty(copy, name, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/**
 * Hashes and signs an event: sets `hashes` to `{sha256: <content hash of the full event>}`,
 * signs the redacted event (without `signatures` and `unsigned`) and returns a copy of the
 * full event carrying that signature in `signatures[serverName][keyId]`, next to any
 * signatures it already had; `unsigned` is kept. The input is not modified. Throws
 * `CanonicalJsonError` if the event has no canonical form (our own data).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#signing-events
 */
export function signEvent<T extends JsonObject>(
  pdu: T,
  options: SignEventOptions,
): T & { hashes: { sha256: string }; signatures: Signatures } {
  const mode = options.mode ?? 'strict';
  const hashed = copyWith(pdu, 'hashes', { sha256: computeContentHash(pdu, { mode }) });
  const signedRedacted = signJson(redactEvent(hashed, options.redactionRules), {
    serverName: options.serverName,
    key: options.key,
    backend: options.backend,
    mode,
  });
  return copyWith(hashed, 'signatures', signedRedacted.signatures) as T & {
    hashes: { sha256: string };
    signatures: Signatures;
  };
}

/**
 * Options for `verifyEventSignature`: whose signature, under which key ID and
 * verification key, and the room version's redaction rules and canonical JSON mode.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#validating-hashes-and-signatures-on-received-events
 */
export interface VerifyEventSignatureOptions {
  readonly serverName: string;
  readonly keyId: string;
  readonly publicKey: Uint8Array | string;
  readonly backend: Ed25519Backend;
  readonly redactionRules: RedactionRules;
  readonly mode?: CanonicalJsonMode;
}

/**
 * Checks one server's signature on an event: the event is redacted with the room's
 * rules and the result checked as in `verifyJsonSignature`, so a redacted copy verifies
 * as well as the full event. Which servers must have signed, and key lookup and expiry,
 * are the caller's. Never throws on untrusted input.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#validating-hashes-and-signatures-on-received-events
 */
export function verifyEventSignature(pdu: JsonObject, options: VerifyEventSignatureOptions): Result<void, JsonSignatureError> {
  return verifyJsonSignature(redactEvent(pdu, options.redactionRules), {
    serverName: options.serverName,
    keyId: options.keyId,
    publicKey: options.publicKey,
    backend: options.backend,
    mode: options.mode ?? 'strict',
  });
}

/**
 * The outcome of `checkContentHash`:
 * - `match`: `hashes.sha256` equals the content hash of the event;
 * - `mismatch`: it is missing, not Base64, or different. Per the spec the receiver then
 *   assumes it was given a redacted copy and must use the redacted event instead;
 * - `not_canonical`: the event has no canonical JSON form in this mode.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#validating-hashes-and-signatures-on-received-events
 */
export type ContentHashCheck = 'match' | 'mismatch' | 'not_canonical';

/**
 * Compares an event's `hashes.sha256` (Base64-decoded) with its computed content hash.
 * Never throws on untrusted input; a mismatch is an outcome, not an error.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#validating-hashes-and-signatures-on-received-events
 */
export function checkContentHash(pdu: JsonObject, options: { readonly mode?: CanonicalJsonMode } = {}): ContentHashCheck {
  let expected: Uint8Array;
  try {
    const stripped: JsonObject = {};
    for (const [name, value] of Object.entries(pdu)) {
      if (name === 'unsigned' || name === 'signatures' || name === 'hashes') continue;
      Object.defineProperty(stripped, name, { value, enumerable: true, writable: true, configurable: true });
    }
    expected = new Uint8Array(createHash('sha256').update(encodeCanonicalJsonBytes(stripped, { mode: options.mode ?? 'strict' })).digest());
  } catch (error) {
    if (error instanceof CanonicalJsonError) return 'not_canonical';
    throw error;
  }
  const hashes = Object.hasOwn(pdu, 'hashes') ? pdu['hashes'] : undefined;
  const sha256 = isJsonObject(hashes) && Object.hasOwn(hashes, 'sha256') ? hashes['sha256'] : undefined;
  if (typeof sha256 !== 'string') return 'mismatch';
  const received = decodeBase64(sha256);
  if (!received.ok || received.value.length !== expected.length) return 'mismatch';
  return received.value.every((byte, index) => byte === expected[index]) ? 'match' : 'mismatch';
}
