import type { ServerName } from '@axon/matrix-identifiers';
import type { KnownServerKeys } from '@axon/matrix-signing';
import type { EventKeySource } from '../pdus/received-pdu';
import type { KeyRing, VerifyKey } from './key-ring';

/** The keys of one server as `verifyEventSignatures` reads them (validity already capped by the key ring). */
export function knownServerKeys(keys: readonly VerifyKey[]): KnownServerKeys {
  const current = keys.filter((key): key is Extract<VerifyKey, { source: 'verify_keys' }> => key.source === 'verify_keys');
  const old = keys.filter((key): key is Extract<VerifyKey, { source: 'old_verify_keys' }> => key.source === 'old_verify_keys');
  return {
    keys: {
      valid_until_ts: current.reduce((max, key) => Math.max(max, key.validUntilTs), 0),
      verify_keys: Object.fromEntries(current.map((key) => [key.keyId, { key: key.key }])),
      old_verify_keys: Object.fromEntries(old.map((key) => [key.keyId, { key: key.key, expired_ts: key.expiredTs }])),
    },
  };
}

/**
 * The key ring as the PDU checks ask it: for each server, the keys its signatures name,
 * valid at least until the event was sent (room version 5 on checks that; fetched again
 * when the stored ones expire before). A server whose keys cannot be had is left out:
 * its signatures are then unverifiable, and the event is dropped.
 */
export function eventKeysFrom(keyRing: Pick<KeyRing, 'verifyKeysFor'>): EventKeySource {
  return {
    async keysOf(wanted, atTs) {
      const found = new Map<ServerName, KnownServerKeys>();
      await Promise.all(
        [...wanted].map(async ([server, keyIds]) => {
          const keys = await keyRing.verifyKeysFor(server, keyIds, { minimumValidUntilTs: atTs });
          if (keys.length > 0) found.set(server, knownServerKeys(keys));
        }),
      );
      return found;
    },
  };
}
