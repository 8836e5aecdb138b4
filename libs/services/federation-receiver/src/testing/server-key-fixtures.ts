import type { JsonObject } from '@axon/matrix-canonical-json';
import type { ServerName } from '@axon/matrix-identifiers';
import { encodeVerifyKey, generateSigningKey, selectEd25519Backend, signJson, type Ed25519Backend, type SigningKey } from '@axon/matrix-signing';
import type { PublicOf } from '../keys/key-ring';
import { OwnServerKeys } from '../keys/own-server-keys';
import type { KeyQueryCriteria, RemoteKeySource } from '../keys/remote-key-source';
import type { ServerKeysRepository, StoredServerKey } from '../storage/server-keys.repository';

/** A server of a test: its name, a freshly generated signing key and the public key. */
export interface TestServer {
  readonly name: ServerName;
  readonly key: SigningKey;
  readonly verifyKey: string;
}

export async function testBackend(): Promise<Ed25519Backend> {
  return selectEd25519Backend('auto');
}

export function testServer(backend: Ed25519Backend, name: string, version = 'k1'): TestServer {
  const key = generateSigningKey(backend, version);
  if (!key.ok) throw new Error(key.error);
  return { name: name as ServerName, key: key.value, verifyKey: encodeVerifyKey(key.value, backend) };
}

/**
 * A `/_matrix/key/v2/server` response of `server` publishing `keys` (its own key when not
 * given), signed by each server of `signers` with its key (by default `server` itself).
 */
export function keyResponse(
  backend: Ed25519Backend,
  server: TestServer,
  validUntilTs: number,
  options: { keys?: readonly TestServer[]; old?: Record<string, { key: string; expired_ts: number }>; signers?: readonly TestServer[]; serverName?: string } = {},
): JsonObject {
  const published = options.keys ?? [server];
  let body: JsonObject = {
    server_name: options.serverName ?? server.name,
    verify_keys: Object.fromEntries(published.map((s) => [s.key.keyId, { key: s.verifyKey }])),
    old_verify_keys: options.old ?? {},
    valid_until_ts: validUntilTs,
  };
  for (const signer of options.signers ?? [server]) body = signJson(body, { serverName: signer.name, key: signer.key, backend });
  return body;
}

/** This server's own keys for a test. */
export function ownKeys(backend: Ed25519Backend, own: TestServer, oldVerifyKeys: Record<string, { key: string; expired_ts: number }> = {}): OwnServerKeys {
  return new OwnServerKeys({ serverName: own.name, signingKey: own.key, verifyKey: own.verifyKey, backend, oldVerifyKeys, keyValidityMs: 24 * 3600 * 1000 });
}

/** Stored keys in memory, one per (server, key ID), the latest write winning. */
export class FakeServerKeysRepository implements PublicOf<ServerKeysRepository> {
  readonly rows = new Map<string, StoredServerKey>();

  async keysOf(serverName: ServerName, keyIds: readonly string[] = []): Promise<StoredServerKey[]> {
    return [...this.rows.values()].filter((row) => row.serverName === serverName && (keyIds.length === 0 || keyIds.includes(row.keyId)));
  }

  async store(keys: readonly StoredServerKey[]): Promise<void> {
    for (const key of keys) this.rows.set(`${key.serverName}|${key.keyId}`, key);
  }
}

type Answer = () => Promise<unknown>;

/** The outbound side for a test: scripted answers per server and per notary, every call recorded. */
export class FakeRemoteKeySource implements RemoteKeySource {
  readonly fetches: ServerName[] = [];
  readonly queries: Array<{ notary: ServerName; criteria: KeyQueryCriteria }> = [];
  readonly servers = new Map<string, Answer>();
  readonly notaries = new Map<string, (criteria: KeyQueryCriteria) => Promise<unknown>>();

  async fetchServerKeys(server: ServerName): Promise<unknown> {
    this.fetches.push(server);
    const answer = this.servers.get(server);
    if (answer === undefined) throw new Error(`connect ECONNREFUSED (${server})`);
    return answer();
  }

  async queryNotary(notary: ServerName, criteria: KeyQueryCriteria): Promise<unknown> {
    this.queries.push({ notary, criteria });
    const answer = this.notaries.get(notary);
    if (answer === undefined) throw new Error(`connect ECONNREFUSED (${notary})`);
    return answer(criteria);
  }
}
