import { CanonicalJsonError, decodeBase64, decodeUrlSafeBase64, encodeCanonicalJsonBytes, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { isJsonObject } from '@axon/matrix-events';
import type { Ed25519Backend } from '@axon/matrix-signing';

function own(object: JsonObject, name: string): JsonValue | undefined {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

/**
 * The public keys of an `m.room.third_party_invite` event: `public_key`, then each
 * `public_keys[].public_key`, as given (unpadded Base64; URL-safe accepted).
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroomthird_party_invite
 */
export function getThirdPartyInvitePublicKeys(content: JsonObject): string[] {
  const keys: string[] = [];
  const single = own(content, 'public_key');
  if (typeof single === 'string') keys.push(single);
  const list = own(content, 'public_keys');
  if (Array.isArray(list)) {
    for (const entry of list) {
      const key = isJsonObject(entry) ? own(entry, 'public_key') : undefined;
      if (typeof key === 'string') keys.push(key);
    }
  }
  return keys;
}

/**
 * Whether any signature in a third-party invite's `signed` object (`{mxid, token,
 * signatures: {entity: {keyId: sig}}}`) verifies with any of the public keys: the signed
 * bytes are the canonical JSON of `signed` without `signatures` (and `unsigned`). Never
 * throws on untrusted input.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules (rule 5.4.1.7)
 */
export function verifyThirdPartyInviteSignature(signed: JsonObject, publicKeys: readonly string[], backend: Ed25519Backend): boolean {
  const signatures = own(signed, 'signatures');
  if (!isJsonObject(signatures)) return false;
  const body: JsonObject = {};
  for (const [name, value] of Object.entries(signed)) {
    if (name === 'signatures' || name === 'unsigned') continue;
    Object.defineProperty(body, name, { value, enumerable: true, writable: true, configurable: true });
  }
  let bytes: Uint8Array;
  try {
    bytes = encodeCanonicalJsonBytes(body, { mode: 'lenient' });
  } catch (error) {
    if (error instanceof CanonicalJsonError) return false;
    throw error;
  }
  const keys = publicKeys.flatMap((key) => {
    const decoded = decodeBase64(key);
    const either = decoded.ok ? decoded : decodeUrlSafeBase64(key);
    return either.ok && either.value.length === 32 ? [either.value] : [];
  });
  for (const byKey of Object.values(signatures)) {
    if (!isJsonObject(byKey)) continue;
    for (const signature of Object.values(byKey)) {
      if (typeof signature !== 'string') continue;
      const decoded = decodeBase64(signature);
      if (!decoded.ok) continue;
      if (keys.some((key) => backend.verify(key, bytes, decoded.value))) return true;
    }
  }
  return false;
}
