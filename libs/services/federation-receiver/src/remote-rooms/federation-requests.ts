import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import type { EventId, RoomId, ServerName } from '@axon/matrix-identifiers';
import { FederationRequestError, type FederationClient } from '@axon/platform-federation';
import type { GapSource } from '../pdus/pdu-ingest';
import type { MembershipRequests } from './remote-join';

/** A remote server's Matrix error as this server's (a refusal to pass on), other failures as they are. */
export function asMatrixError(error: unknown): unknown {
  if (!(error instanceof FederationRequestError) || error.errcode === undefined || !MatrixError.isErrcode(error.errcode)) return error;
  return new MatrixError(error.errcode, `${error.destination}: ${error.remoteError ?? error.message}`, error.status >= 400 && error.status < 500 ? error.status : 502);
}

const room = (roomId: RoomId): string => encodeURIComponent(roomId);

/** The outbound requests of joins and gap filling, over the federation client. */
export function federationRequests(client: Pick<FederationClient, 'get' | 'put' | 'post'>): MembershipRequests & GapSource {
  const get = async (destination: ServerName, path: string): Promise<JsonValue> => {
    try {
      return await client.get(destination, path);
    } catch (error) {
      throw asMatrixError(error);
    }
  };
  return {
    get,
    async put(destination, path, body, options) {
      try {
        return await client.put(destination, path, body, options);
      } catch (error) {
        throw asMatrixError(error);
      }
    },
    async missingEvents(origin, roomId, { earliest, latest, limit }) {
      const body: JsonObject = { earliest_events: [...earliest], latest_events: [...latest], limit, min_depth: 0 };
      const answer = await client.post(origin, `/_matrix/federation/v1/get_missing_events/${room(roomId)}`, body);
      return isJsonObject(answer) && Array.isArray(answer['events']) ? answer['events'] : [];
    },
    async stateIds(origin, roomId, eventId: EventId) {
      const answer = await get(origin, `/_matrix/federation/v1/state_ids/${room(roomId)}?event_id=${encodeURIComponent(eventId)}`);
      const ids = (value: JsonValue | undefined): string[] => (Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : []);
      if (!isJsonObject(answer)) throw new MatrixError('M_BAD_JSON', `state_ids from ${origin} is not an object`, 502);
      return { pduIds: ids(answer['pdu_ids']), authChainIds: ids(answer['auth_chain_ids']) };
    },
    async event(origin, eventId) {
      const answer = await get(origin, `/_matrix/federation/v1/event/${encodeURIComponent(eventId)}`);
      return isJsonObject(answer) && Array.isArray(answer['pdus']) ? answer['pdus'][0] : undefined;
    },
  };
}
