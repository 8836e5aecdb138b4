import type { ServerName } from '@axon/matrix-identifiers';

/**
 * What a notary is asked for (`server_keys` of `POST /_matrix/key/v2/query`): server name,
 * then key ID, then the time the key must be valid until at least. No key IDs: all keys.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#post_matrixkeyv2query
 */
export type KeyQueryCriteria = Readonly<Record<string, Readonly<Record<string, { readonly minimum_valid_until_ts?: number }>>>>;

/**
 * The outbound requests the key ring makes, to be implemented with the federation client
 * (server discovery, TLS, IP blocklist). Both answer the parsed JSON body of a 200
 * response, unchecked: the key ring checks names and signatures itself. Both reject when
 * the server cannot be reached or does not answer 200 with JSON; the key ring then tries
 * the next source. Neither signs its request: both endpoints are unauthenticated.
 */
export abstract class RemoteKeySource {
  /** `GET /_matrix/key/v2/server` of `server`. */
  abstract fetchServerKeys(server: ServerName): Promise<unknown>;
  /** `POST /_matrix/key/v2/query` of `notary` with body `{server_keys: criteria}`. */
  abstract queryNotary(notary: ServerName, criteria: KeyQueryCriteria): Promise<unknown>;
}
