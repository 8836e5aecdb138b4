import type { ServerName } from '@axon/matrix-identifiers';
import type { FederationClient } from '@axon/platform-federation';
import { RemoteKeySource, type KeyQueryCriteria } from './remote-key-source';

/** `RemoteKeySource` over the federation client: unsigned requests, as the key endpoints take them. */
export class FederationKeySource extends RemoteKeySource {
  constructor(private readonly client: Pick<FederationClient, 'get' | 'post'>) {
    super();
  }

  fetchServerKeys(server: ServerName): Promise<unknown> {
    return this.client.get(server, '/_matrix/key/v2/server', { signed: false });
  }

  queryNotary(notary: ServerName, criteria: KeyQueryCriteria): Promise<unknown> {
    return this.client.post(notary, '/_matrix/key/v2/query', { server_keys: criteria as never }, { signed: false });
  }
}
