import type { JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import type { RoomId, ServerName } from '@axon/matrix-identifiers';
import type { RoomAccess, RoomQuery } from '../rooms/room-access';

const pdusOf = (events: ReadonlyArray<{ pduJson: string }>): JsonValue[] => events.map((event) => JSON.parse(event.pduJson) as JsonValue);

/** Backfill answers at most this many events a request (Synapse's cap). */
const MAX_BACKFILL = 100;
const MAX_MISSING_EVENTS = 20;

/**
 * What a server in a room may read of it here: single events, the state at an event (in
 * full or as IDs), an event's auth chain, history before given events (backfill), and
 * the events between what it has and what it saw (get_missing_events). Every read checks
 * first that the asking server is allowed by the room's ACL and has a joined member in
 * the room.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#retrieving-events
 */
export class RoomHistory {
  constructor(
    private readonly query: Pick<RoomQuery, 'getEvents' | 'getStateAtEvent' | 'getAuthChain' | 'walkPrevEvents'>,
    private readonly access: Pick<RoomAccess, 'requireInRoom'>,
    private readonly serverName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** `GET /event/{eventId}`: a transaction holding the one event. */
  async event(origin: ServerName, eventId: string): Promise<{ origin: string; origin_server_ts: number; pdus: JsonValue[] }> {
    const [event] = (await this.query.getEvents({ eventIds: [eventId], includeOutliers: true })).events;
    if (event === undefined) throw new MatrixError('M_NOT_FOUND', `unknown event ${eventId}`, 404);
    await this.access.requireInRoom(event.roomId as RoomId, origin);
    return { origin: this.serverName, origin_server_ts: this.now(), pdus: pdusOf([event]) };
  }

  /** The room's state before `eventId` and its auth chain (`/state`, `/state_ids`). */
  async stateAt(origin: ServerName, roomId: RoomId, eventId: string): Promise<{ state: JsonValue[]; authChain: JsonValue[]; stateIds: string[]; authChainIds: string[] }> {
    await this.access.requireInRoom(roomId, origin);
    const event = await this.eventOfRoom(roomId, eventId);
    const state = (await this.query.getStateAtEvent({ eventId: event.eventId, after: false })).events;
    const authChain = (await this.query.getAuthChain({ eventIds: state.map((e) => e.eventId) })).events;
    return { state: pdusOf(state), authChain: pdusOf(authChain), stateIds: state.map((e) => e.eventId), authChainIds: authChain.map((e) => e.eventId) };
  }

  /** `GET /event_auth/{roomId}/{eventId}`: the event's auth chain. */
  async eventAuth(origin: ServerName, roomId: RoomId, eventId: string): Promise<{ auth_chain: JsonValue[] }> {
    await this.access.requireInRoom(roomId, origin);
    const event = await this.eventOfRoom(roomId, eventId);
    return { auth_chain: pdusOf((await this.query.getAuthChain({ eventIds: [event.eventId] })).events) };
  }

  /** `GET /backfill/{roomId}?v=&limit=`: the given events and those before them, deepest first. */
  async backfill(origin: ServerName, roomId: RoomId, from: readonly string[], limit: number): Promise<{ origin: string; origin_server_ts: number; pdus: JsonValue[] }> {
    await this.access.requireInRoom(roomId, origin);
    const { events } = await this.query.walkPrevEvents({ roomId, fromEventIds: [...from], stopEventIds: [], limit: Math.min(Math.max(limit, 1), MAX_BACKFILL), minDepth: '0', includeFrom: true });
    return { origin: this.serverName, origin_server_ts: this.now(), pdus: pdusOf(events) };
  }

  /** `POST /get_missing_events/{roomId}`: events before `latest` down to `earliest`, oldest first. */
  async missingEvents(origin: ServerName, roomId: RoomId, request: { earliest: readonly string[]; latest: readonly string[]; limit: number; minDepth: number }): Promise<{ events: JsonValue[] }> {
    await this.access.requireInRoom(roomId, origin);
    const { events } = await this.query.walkPrevEvents({
      roomId,
      fromEventIds: [...request.latest],
      stopEventIds: [...request.earliest],
      limit: Math.min(Math.max(request.limit, 1), MAX_MISSING_EVENTS),
      minDepth: String(request.minDepth),
      includeFrom: false,
    });
    return { events: pdusOf([...events].reverse()) };
  }

  private async eventOfRoom(roomId: RoomId, eventId: string): Promise<{ eventId: string }> {
    const [event] = (await this.query.getEvents({ eventIds: [eventId], includeOutliers: true })).events;
    if (event === undefined || event.roomId !== roomId) throw new MatrixError('M_NOT_FOUND', `unknown event ${eventId} in room ${roomId}`, 404);
    return event;
  }
}
