import type { RoomEvent, RoomQueryDefinition } from '@axon/contracts-grpc';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { parseEventId, parseHistoricalUserId, parseRoomId, type RoomId } from '@axon/matrix-identifiers';
import type { ServiceImplementation } from '@axon/platform-rpc';
import type { StoredEvent } from '../storage/rows';
import type { RoomStorage } from '../storage/room-storage';
import { walkPrevEvents } from './dag-walk';
import { buildEventTemplate } from './event-template';
import { known, knownOnly } from './request-ids';

const MAX_PAGE = 1000;

/**
 * `RoomQuery`: read-only questions about rooms, answered from the room server's tables.
 * Events are returned as stored (PDU JSON exactly as signed, with the redaction that
 * applies, if any); callers format them for clients.
 */
export function createRoomQuery(storage: RoomStorage): ServiceImplementation<RoomQueryDefinition> {
  const { db } = storage;
  const versions = new Map<RoomId, string>();
  const versionOf = async (roomId: RoomId): Promise<string> => {
    let version = versions.get(roomId);
    if (version === undefined) {
      version = (await storage.rooms.get(db, roomId))?.room_version ?? '';
      if (version !== '') versions.set(roomId, version);
    }
    return version;
  };
  const toRoomEvents = async (events: readonly StoredEvent[]): Promise<RoomEvent[]> => {
    const out: RoomEvent[] = [];
    for (const event of events) {
      out.push({
        eventId: event.event_id,
        roomId: event.room_id,
        pduJson: event.pdu_json,
        streamOrdering: event.nid,
        redactedBy: event.redacted_by ?? '',
        roomVersion: await versionOf(event.room_id),
        ...(event.txn_device_id === null || event.txn_id === null ? {} : { transaction: { deviceId: event.txn_device_id, txnId: event.txn_id } }),
      });
    }
    return out;
  };
  /** The state groups of an event, or M_NOT_FOUND. */
  const stateGroupsOf = async (eventId: string): Promise<{ before: string | null; after: string | null }> => {
    const id = known(parseEventId, eventId);
    const groups = id === undefined ? undefined : await storage.events.stateGroupsOf(db, id);
    if (groups === undefined) throw new MatrixError('M_NOT_FOUND', `unknown event ${eventId}`, 404);
    return groups;
  };

  return {
    async getInputResult({ requestId }) {
      const result = await storage.inputResults.get(db, requestId);
      if (result === undefined) return { found: false, eventId: '', roomId: '', errcode: '', error: '' };
      return { found: true, eventId: result.event_id ?? '', roomId: result.room_id ?? '', errcode: result.errcode ?? '', error: result.error ?? '' };
    },
    async getRoomInfo({ roomId }) {
      const id = known(parseRoomId, roomId);
      const room = id === undefined ? undefined : await storage.rooms.get(db, id);
      return room === undefined ? { exists: false, roomVersion: '', latestStreamOrdering: '0' } : { exists: true, roomVersion: room.room_version, latestStreamOrdering: room.latest_nid };
    },
    async getCurrentState({ roomId, types }) {
      const id = known(parseRoomId, roomId);
      return { events: id === undefined ? [] : await toRoomEvents(await storage.state.current(db, id, { types })) };
    },
    async getStateEvent({ roomId, type, stateKey }) {
      const id = known(parseRoomId, roomId);
      return { events: id === undefined ? [] : await toRoomEvents(await storage.state.current(db, id, { keys: [[type, stateKey]] })) };
    },
    async getStateAtEvent({ eventId, after }) {
      const groups = await stateGroupsOf(eventId);
      const group = after ? groups.after : groups.before;
      return { events: group === null ? [] : await toRoomEvents(await storage.state.group(db, group)) };
    },
    async getEvents({ eventIds, includeOutliers }) {
      const ids = knownOnly(parseEventId, eventIds);
      // Outliers, rejected and soft-failed events are not the room's to show; other
      // servers may have outliers and soft-failed ones, never rejected ones.
      const shown = (event: StoredEvent): boolean => event.status === null || (includeOutliers && event.status !== 'rejected');
      const found = new Map((await storage.events.byIds(db, ids)).filter(shown).map((event) => [event.event_id, event]));
      return { events: await toRoomEvents(ids.flatMap((id) => (found.has(id) ? [found.get(id)!] : []))) };
    },
    async getMembership({ roomId, userId }) {
      const [room, user] = [known(parseRoomId, roomId), known(parseHistoricalUserId, userId)];
      const membership = room === undefined || user === undefined ? undefined : await storage.memberships.of(db, room, user);
      return { membership: membership?.membership ?? '', eventId: membership?.event_id ?? '' };
    },
    async getRoomsOfUser({ userId, membership }) {
      const user = known(parseHistoricalUserId, userId);
      return { roomIds: user === undefined ? [] : await storage.memberships.roomsOf(db, user, membership === '' ? 'join' : membership) };
    },
    async getMembers({ roomId, atEventId, memberships, notMemberships }) {
      let events: StoredEvent[];
      if (atEventId === '') {
        const id = known(parseRoomId, roomId);
        events = id === undefined ? [] : await storage.state.current(db, id, { types: ['m.room.member'] });
      } else {
        const groups = await stateGroupsOf(atEventId);
        events = groups.after === null ? [] : (await storage.state.group(db, groups.after)).filter((event) => event.type === 'm.room.member');
      }
      const membershipOf = (event: StoredEvent): string => {
        const content = (JSON.parse(event.pdu_json) as { content?: { membership?: unknown } }).content;
        return typeof content?.membership === 'string' ? content.membership : '';
      };
      const filtered = events.filter((event) => {
        const membership = membershipOf(event);
        return (memberships.length === 0 || memberships.includes(membership)) && !notMemberships.includes(membership);
      });
      return { events: await toRoomEvents(filtered) };
    },
    async paginate({ roomId, from, direction, limit, to }) {
      if (direction !== 'b' && direction !== 'f') throw new MatrixError('M_INVALID_PARAM', `direction must be b or f, not ${JSON.stringify(direction)}`);
      const size = Math.min(Math.max(limit, 1), MAX_PAGE);
      const id = known(parseRoomId, roomId);
      const events =
        id === undefined
          ? []
          : await storage.timeline.paginate(db, id, {
              direction,
              limit: size,
              ...(from === '' ? {} : { from }),
              ...(to === '' ? {} : { to }),
            });
      const last = events[events.length - 1];
      return { events: await toRoomEvents(events), next: events.length === size && last !== undefined ? last.nid : '' };
    },
    async getAuthChain({ eventIds }) {
      return { events: await toRoomEvents(await storage.events.authChain(db, knownOnly(parseEventId, eventIds))) };
    },
    async getLatestEvents({ roomId }) {
      const id = known(parseRoomId, roomId);
      return { events: id === undefined ? [] : await toRoomEvents(await storage.rooms.forwardExtremities(db, id)) };
    },
    async walkPrevEvents({ roomId, fromEventIds, stopEventIds, limit, minDepth, includeFrom }) {
      const id = known(parseRoomId, roomId);
      if (id === undefined) return { events: [] };
      const walked = await walkPrevEvents(db, storage.events, id, knownOnly(parseEventId, fromEventIds), {
        limit: Math.min(Math.max(limit, 1), MAX_PAGE),
        stop: new Set(stopEventIds),
        minDepth: Number(minDepth),
        includeFrom,
      });
      return { events: await toRoomEvents(walked) };
    },
    async buildEventTemplate({ roomId, type, stateKey, sender, contentJson }) {
      const id = known(parseRoomId, roomId);
      if (id === undefined) throw new MatrixError('M_NOT_FOUND', `unknown room ${roomId}`, 404);
      const content = JSON.parse(contentJson === '' ? '{}' : contentJson) as JsonObject;
      const { roomVersion, template } = await buildEventTemplate(storage, id, { type, stateKey, sender, content }, Date.now());
      return { roomVersion, templateJson: JSON.stringify(template) };
    },
  };
}
