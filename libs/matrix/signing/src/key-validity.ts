import { err, ok, type Result } from '@axon/matrix-errors';

/**
 * The key fields of a server keys response (`GET /_matrix/key/v2/server` or a notary's
 * answer), as this library needs them.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixkeyv2server
 */
export interface ServerKeys {
  readonly valid_until_ts: number;
  readonly verify_keys: Readonly<Record<string, { readonly key: string }>>;
  readonly old_verify_keys?: Readonly<Record<string, { readonly key: string; readonly expired_ts: number }>>;
}

/**
 * Servers must use the lesser of `valid_until_ts` and 7 days into the future (from when
 * the keys were fetched) when deciding whether a key is valid.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v5/#signing-key-validity-period
 */
export const MAX_KEY_VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * A verification key found valid, and where it came from: `verify_keys` (current) or
 * `old_verify_keys` (expired, valid only for events signed before `expired_ts`).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#publishing-keys
 */
export interface ValidVerifyKey {
  readonly key: string;
  readonly source: 'verify_keys' | 'old_verify_keys';
}

/**
 * The effective end of a keys response's validity: `valid_until_ts`, capped at 7 days
 * after `fetchedTs` when that is known.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v5/#signing-key-validity-period
 */
export function computeKeysValidUntil(keys: ServerKeys, fetchedTs?: number): number {
  return fetchedTs === undefined ? keys.valid_until_ts : Math.min(keys.valid_until_ts, fetchedTs + MAX_KEY_VALIDITY_MS);
}

/**
 * Options for `findVerifyKeyForEvent`. `enforceValidUntilTs` is the room version's rule
 * (introduced in room version 5; `valid_until_ts` "MUST be ignored in room versions 1, 2,
 * 3, and 4"). `fetchedTs` is when the keys were fetched, for the 7-day cap.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v5/#signing-key-validity-period
 */
export interface EventKeyValidityOptions {
  readonly originServerTs: number;
  readonly enforceValidUntilTs: boolean;
  readonly fetchedTs?: number;
}

/**
 * Finds the key to check an event signature made with `keyId`: a current key is valid
 * when validity is not enforced or its (capped) `valid_until_ts` is at least the event's
 * `origin_server_ts`; an old key likewise against its `expired_ts`. Refuses with a reason.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v5/#signing-key-validity-period
 */
export function findVerifyKeyForEvent(keys: ServerKeys, keyId: string, options: EventKeyValidityOptions): Result<ValidVerifyKey> {
  const current = Object.hasOwn(keys.verify_keys, keyId) ? keys.verify_keys[keyId] : undefined;
  if (current !== undefined) {
    const validUntil = computeKeysValidUntil(keys, options.fetchedTs);
    if (options.enforceValidUntilTs && validUntil < options.originServerTs) {
      return err(`key ${keyId} is valid until ${validUntil}, before the event's origin_server_ts ${options.originServerTs}`);
    }
    return ok({ key: current.key, source: 'verify_keys' });
  }
  const old = keys.old_verify_keys && Object.hasOwn(keys.old_verify_keys, keyId) ? keys.old_verify_keys[keyId] : undefined;
  if (old !== undefined) {
    if (options.enforceValidUntilTs && old.expired_ts < options.originServerTs) {
      return err(`key ${keyId} expired at ${old.expired_ts}, before the event's origin_server_ts ${options.originServerTs}`);
    }
    return ok({ key: old.key, source: 'old_verify_keys' });
  }
  return err(`no key ${keyId} in the server's keys`);
}

/**
 * Finds the key to check a federation request signed with `keyId`: only `verify_keys`
 * count (old keys are "only valid for signing events"), and the (capped) `valid_until_ts`
 * must not have passed at `nowTs`.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#publishing-keys
 */
export function findVerifyKeyForRequest(keys: ServerKeys, keyId: string, options: { readonly nowTs: number; readonly fetchedTs?: number }): Result<ValidVerifyKey> {
  const current = Object.hasOwn(keys.verify_keys, keyId) ? keys.verify_keys[keyId] : undefined;
  if (current === undefined) return err(`no current key ${keyId} in the server's keys`);
  const validUntil = computeKeysValidUntil(keys, options.fetchedTs);
  if (validUntil < options.nowTs) return err(`key ${keyId} was valid until ${validUntil}; refetch the server's keys`);
  return ok({ key: current.key, source: 'verify_keys' });
}
