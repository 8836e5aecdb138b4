import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import type { ServerName } from '@axon/matrix-identifiers';
import { FederationRequestError } from '@axon/platform-federation';
import { asMatrixError } from './federation-requests';

/** The queries' requests (through the federation client). */
export interface QueryRequests {
  get(destination: ServerName, path: string): Promise<JsonValue>;
  post(destination: ServerName, path: string, body: JsonObject): Promise<JsonValue>;
}

const isNotFound = (error: unknown): boolean => error instanceof FederationRequestError && error.status === 404;

/**
 * What local users ask of other servers: a user's profile, an alias, a room directory.
 * A 404 from the other server is "not found"; other failures are errors.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#querying-for-information
 */
export class RemoteQueries {
  constructor(private readonly requests: QueryRequests) {}

  async profile(server: ServerName, userId: string, field: string): Promise<{ displayname?: string; avatarUrl?: string } | undefined> {
    let answer: JsonValue;
    try {
      answer = await this.requests.get(server, `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent(userId)}${field === '' ? '' : `&field=${encodeURIComponent(field)}`}`);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    if (!isJsonObject(answer)) return undefined;
    const displayname = answer['displayname'];
    const avatarUrl = answer['avatar_url'];
    return { ...(typeof displayname === 'string' ? { displayname } : {}), ...(typeof avatarUrl === 'string' ? { avatarUrl } : {}) };
  }

  async alias(server: ServerName, alias: string): Promise<{ roomId: string; servers: string[] } | undefined> {
    let answer: JsonValue;
    try {
      answer = await this.requests.get(server, `/_matrix/federation/v1/query/directory?room_alias=${encodeURIComponent(alias)}`);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    if (!isJsonObject(answer) || typeof answer['room_id'] !== 'string') throw new MatrixError('M_BAD_JSON', `query/directory from ${server} has no room_id`, 502);
    const servers = Array.isArray(answer['servers']) ? answer['servers'].filter((s): s is string => typeof s === 'string') : [];
    return { roomId: answer['room_id'], servers: servers.length === 0 ? [server] : servers };
  }

  /** Another server's directory; its refusal (many servers do not publish theirs over federation) comes back as its Matrix error. */
  async publicRooms(server: ServerName, query: { limit: number; since: string; searchTerm: string }): Promise<JsonValue> {
    try {
      return await this.directory(server, query);
    } catch (error) {
      throw asMatrixError(error);
    }
  }

  private async directory(server: ServerName, query: { limit: number; since: string; searchTerm: string }): Promise<JsonValue> {
    if (query.searchTerm === '') {
      const params = [query.limit > 0 ? `limit=${query.limit}` : '', query.since === '' ? '' : `since=${encodeURIComponent(query.since)}`].filter((p) => p !== '');
      return this.requests.get(server, `/_matrix/federation/v1/publicRooms${params.length === 0 ? '' : `?${params.join('&')}`}`);
    }
    const body: JsonObject = { filter: { generic_search_term: query.searchTerm } };
    if (query.limit > 0) body['limit'] = query.limit;
    if (query.since !== '') body['since'] = query.since;
    return this.requests.post(server, '/_matrix/federation/v1/publicRooms', body);
  }
}
