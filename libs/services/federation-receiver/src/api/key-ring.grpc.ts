import type { KeyRingDefinition, VerifyKey as VerifyKeyMessage } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import { parseServerName } from '@axon/matrix-identifiers';
import type { ServiceImplementation } from '@axon/platform-rpc';
import type { KeyRing, VerifyKey } from '../keys/key-ring';

function toMessage(key: VerifyKey): VerifyKeyMessage {
  return {
    keyId: key.keyId,
    key: key.key,
    validity: key.source === 'verify_keys' ? { $case: 'validUntilTs', value: String(key.validUntilTs) } : { $case: 'expiredTs', value: String(key.expiredTs) },
  };
}

/**
 * `KeyRing`: other servers' verify keys for services in other processes, answered by the
 * key ring (stored, or fetched when not valid long enough).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#retrieving-server-keys
 */
export function createKeyRingService(keyRing: Pick<KeyRing, 'verifyKeysFor'>): ServiceImplementation<KeyRingDefinition> {
  return {
    async lookupVerifyKeys({ serverName, keyIds, minimumValidUntilTs }) {
      const server = parseServerName(serverName);
      if (!server.ok) throw new MatrixError('M_INVALID_PARAM', `server_name: ${server.error}`, 400);
      const keys = await keyRing.verifyKeysFor(server.value, keyIds, { minimumValidUntilTs: Number(minimumValidUntilTs) });
      return { keys: keys.map(toMessage) };
    },
  };
}
