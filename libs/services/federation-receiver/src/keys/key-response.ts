import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import { parseServerKeyId, type ServerName } from '@axon/matrix-identifiers';
import { verifyJsonSignature, type Ed25519Backend } from '@axon/matrix-signing';

/**
 * A `/_matrix/key/v2/server` response whose shape, server name and self-signatures were
 * checked: its Ed25519 keys (other algorithms are left out: no server signs with them) and
 * the response itself, as received, to store and serve again.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixkeyv2server
 */
export interface CheckedKeyResponse {
  readonly response: JsonObject;
  readonly validUntilTs: number;
  readonly verifyKeys: ReadonlyMap<string, string>;
  readonly oldVerifyKeys: ReadonlyMap<string, { readonly key: string; readonly expiredTs: number }>;
}

/** A notary of `federation.trusted_key_servers`: its name and the keys its answers must be signed with. */
export interface TrustedKeyServer {
  readonly server_name: string;
  readonly verify_keys: Readonly<Record<string, string>>;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isEd25519KeyId = (keyId: string): boolean => keyId.startsWith('ed25519:') && parseServerKeyId(keyId).ok;

function field(object: JsonObject, name: string): JsonValue | undefined {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

/**
 * Checks a server keys response for `server`, however it arrived (from the server or
 * through a notary): an object naming `server` in `server_name`, an integer
 * `valid_until_ts`, `verify_keys` and `old_verify_keys` of the spec's shape, at least one
 * Ed25519 key in `verify_keys`, and a valid signature by `server` with each of them.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#publishing-keys
 */
export function checkKeyResponse(json: unknown, server: ServerName, backend: Ed25519Backend): Result<CheckedKeyResponse> {
  if (!isJsonObject(json)) return err('the response is not a JSON object');
  const serverName = field(json, 'server_name');
  if (serverName !== server) return err(`the response is for ${JSON.stringify(serverName)}, not ${server}`);
  const validUntilTs = field(json, 'valid_until_ts');
  if (typeof validUntilTs !== 'number' || !Number.isSafeInteger(validUntilTs)) return err('valid_until_ts is not an integer');
  const verifyKeysJson = field(json, 'verify_keys');
  if (!isJsonObject(verifyKeysJson)) return err('verify_keys is not an object');
  const verifyKeys = new Map<string, string>();
  for (const [keyId, entry] of Object.entries(verifyKeysJson)) {
    const key = isJsonObject(entry) ? field(entry, 'key') : undefined;
    if (typeof key !== 'string') return err(`verify_keys.${keyId} has no key`);
    if (isEd25519KeyId(keyId)) verifyKeys.set(keyId, key);
  }
  if (verifyKeys.size === 0) return err('verify_keys holds no ed25519 key');
  const oldKeysJson = field(json, 'old_verify_keys') ?? {};
  if (!isJsonObject(oldKeysJson)) return err('old_verify_keys is not an object');
  const oldVerifyKeys = new Map<string, { key: string; expiredTs: number }>();
  for (const [keyId, entry] of Object.entries(oldKeysJson)) {
    const key = isJsonObject(entry) ? field(entry, 'key') : undefined;
    const expiredTs = isJsonObject(entry) ? field(entry, 'expired_ts') : undefined;
    if (typeof key !== 'string' || typeof expiredTs !== 'number' || !Number.isSafeInteger(expiredTs)) return err(`old_verify_keys.${keyId} is not {key, expired_ts}`);
    if (isEd25519KeyId(keyId) && !verifyKeys.has(keyId)) oldVerifyKeys.set(keyId, { key, expiredTs });
  }
  for (const [keyId, key] of verifyKeys) {
    const signed = verifyJsonSignature(json, { serverName: server, keyId, publicKey: key, backend });
    if (!signed.ok) return err(`not signed by its own key ${keyId}: ${signed.error.message}`);
  }
  return ok({ response: json, validUntilTs, verifyKeys, oldVerifyKeys });
}

/**
 * Checks that a response a notary returned carries the notary's signature with one of the
 * keys configured for it (`federation.trusted_key_servers`).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#querying-keys-through-another-server
 */
export function checkNotarySignature(response: JsonObject, notary: TrustedKeyServer, backend: Ed25519Backend): Result<void> {
  const problems: string[] = [];
  for (const [keyId, publicKey] of Object.entries(notary.verify_keys)) {
    const signed = verifyJsonSignature(response, { serverName: notary.server_name, keyId, publicKey, backend });
    if (signed.ok) return ok(undefined);
    problems.push(signed.error.message);
  }
  return err(`not signed by the notary ${notary.server_name} with a trusted key (${problems.join('; ')})`);
}
