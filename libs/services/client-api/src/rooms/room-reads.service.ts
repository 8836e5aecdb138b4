import { Injectable } from '@nestjs/common';
import type { RoomEvent } from '@axon/contracts-grpc';
import { isSyncToken, parseSyncToken, roomOutputTopic, roomPositionOf } from '@axon/contracts-kafka';
import { partitionForKey } from '@axon/platform-bus';
import { MatrixError } from '@axon/matrix-errors';
import { DEFAULT_FILTER, parseFilter, parseRoomEventFilter, roomEventFilterAllows, type RoomEventFilter } from '@axon/matrix-filters';
import { parseEventId, type EventId, type RoomId } from '@axon/matrix-identifiers';
import type { Requester } from '../auth/requester';
import { FiltersRepository } from '../storage/filters.repository';
import { contentOf, toClientEvent, type ClientEvent } from './client-event';
import { visibilityStateOf, VisibilityWalker } from './history-visibility';
import { ForgottenRoomsRepository } from '../storage/forgotten-rooms.repository';
import { RoomQueryClient } from './room-query.client';

/**
 * How a user may read a room. Members read it; a user who left (and did not forget it)
 * reads it up to their leave; anyone may read a room whose current history visibility
 * is `world_readable`. Within that, each event is shown per the history visibility rules.
 */
interface RoomView {
  readonly roomId: RoomId;
  /** The stream position and event of a departed user's leave or ban. */
  readonly until: { readonly position: bigint; readonly eventId: string } | undefined;
  /** The user's latest join: `now` while joined (rule 3 of the visibility rules). */
  readonly lastJoin: bigint | 'now' | undefined;
}

/** How many membership events back the latest join of a departed user is looked for. */
const MEMBERSHIP_HOPS = 20;
/** How many room-server pages one request scans at most to fill a filtered page. */
const SCAN_PAGES = 20;
const MAX_LIMIT = 1000;

interface Scan {
  readonly events: RoomEvent[];
  /** The position of the last event looked at (returned or not). */
  readonly last: string | undefined;
  /** Whether more events may follow in that direction. */
  readonly more: boolean;
}

type Json = Readonly<Record<string, unknown>>;

/**
 * The read half of the room endpoints: events, state, members, `/messages` and
 * `/context`, with the history visibility rules and `RoomEventFilter`s applied.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#room-history-visibility
 */
@Injectable()
export class RoomReadsService {
  constructor(
    private readonly roomQuery: RoomQueryClient,
    private readonly filters: FiltersRepository,
    private readonly forgottenRooms: ForgottenRoomsRepository,
  ) {}

  async stateEvent(requester: Requester, roomId: RoomId, type: string, stateKey: string): Promise<ClientEvent> {
    const event = (await this.visibleState(requester, roomId)).find((candidate) => {
      const pdu = JSON.parse(candidate.pduJson) as { type?: string; state_key?: string };
      return pdu.type === type && pdu.state_key === stateKey;
    });
    if (event === undefined) throw new MatrixError('M_NOT_FOUND', 'no such state event', 404);
    return toClientEvent(event);
  }

  async state(requester: Requester, roomId: RoomId): Promise<ClientEvent[]> {
    return (await this.visibleState(requester, roomId)).map((event) => toClientEvent(event));
  }

  /**
   * `GET /members`: now (or as of a departed user's leave), or at a pagination token;
   * `membership` and `not_membership` together are an "or".
   */
  async members(requester: Requester, roomId: RoomId, query: { at?: string; membership?: string; not_membership?: string }): Promise<ClientEvent[]> {
    const view = await this.access(requester, roomId);
    let atEventId = view.until?.eventId ?? '';
    if (query.at !== undefined) {
      const position = parseToken(query.at);
      const [event] = (await this.roomQuery.paginate({ roomId, from: position, direction: 'b', limit: 1, to: '' })).events;
      if (event !== undefined && (view.until === undefined || BigInt(event.streamOrdering) <= view.until.position)) {
        if (!(await this.isVisible(requester, view, event))) throw new MatrixError('M_FORBIDDEN', 'you may not see the room at that point', 403);
        atEventId = event.eventId;
      }
    }
    const { events } = await this.roomQuery.getMembers({ roomId, atEventId, memberships: [], notMemberships: [] });
    const { membership, not_membership: notMembership } = query;
    const selected = events.filter((event) => {
      const value = contentOf(event)['membership'];
      if (membership !== undefined && notMembership !== undefined) return value === membership || value !== notMembership;
      if (membership !== undefined) return value === membership;
      if (notMembership !== undefined) return value !== notMembership;
      return true;
    });
    return selected.map((event) => toClientEvent(event));
  }

  /**
   * `GET /joined_members`. A member without a display name or avatar has them `null`, as
   * Synapse sends them: the spec's RoomMember has both as optional strings, but clients
   * read the keys (matrix-nio's schema requires `display_name`, string or null).
   */
  async joinedMembers(requester: Requester, roomId: RoomId): Promise<Record<string, { display_name: string | null; avatar_url: string | null }>> {
    const membership = await this.roomQuery.getMembership({ roomId, userId: requester.userId });
    if (membership.membership !== 'join') throw new MatrixError('M_FORBIDDEN', 'you are not joined to this room', 403);
    const members = await this.roomQuery.getMembers({ roomId, atEventId: '', memberships: ['join'], notMemberships: [] });
    const joined: Record<string, { display_name: string | null; avatar_url: string | null }> = {};
    for (const event of members.events) {
      const pdu = JSON.parse(event.pduJson) as { state_key: string };
      const content = contentOf(event);
      joined[pdu.state_key] = {
        display_name: typeof content['displayname'] === 'string' ? content['displayname'] : null,
        avatar_url: typeof content['avatar_url'] === 'string' ? content['avatar_url'] : null,
      };
    }
    return joined;
  }

  /** `GET /event/{eventId}`: the spec answers 404 both for unknown events and for ones the user may not see. */
  async event(requester: Requester, roomId: RoomId, eventId: string): Promise<ClientEvent> {
    const view = await this.access(requester, roomId).catch((error: unknown) => {
      throw error instanceof MatrixError && error.errcode === 'M_FORBIDDEN' ? new MatrixError('M_NOT_FOUND', 'event not found', 404) : error;
    });
    const event = await this.visibleEvent(requester, view, eventOf(eventId));
    return (await this.format(requester, [event]))[0]!;
  }

  /**
   * `GET /rooms/{roomId}/messages`: the room's events in stream order from a token, `b`
   * (newest first) or `f`. Tokens are `t<position>`, exclusive, or a `/sync` token (`positionOf`).
   */
  async messages(
    requester: Requester,
    roomId: RoomId,
    query: { from?: string; to?: string; dir?: string; limit?: string; filter?: string },
  ): Promise<{ start: string; end?: string; chunk: ClientEvent[]; state?: ClientEvent[] }> {
    const view = await this.access(requester, roomId);
    const dir = query.dir ?? 'b';
    if (dir !== 'b' && dir !== 'f') throw new MatrixError('M_INVALID_PARAM', 'dir must be "b" or "f"', 400);
    const filter = await this.filter(requester, query.filter);
    const limit = Math.min(parseLimit(query.limit) ?? filter.limit ?? 10, MAX_LIMIT);
    const from = query.from === undefined ? undefined : positionOf(query.from, roomId, dir);
    const to = query.to === undefined ? undefined : positionOf(query.to, roomId, dir);
    let start = query.from;
    if (start === undefined) {
      const info = await this.roomQuery.getRoomInfo({ roomId });
      start = `t${dir === 'b' ? (BigInt(info.latestStreamOrdering) + 1n).toString() : '0'}`;
    }
    if (limit === 0) return { start, chunk: [] };
    const scan = await this.scan(requester, view, { from, dir, to, limit, filter });
    const chunk = await this.format(requester, scan.events);
    const response: { start: string; end?: string; chunk: ClientEvent[]; state?: ClientEvent[] } = { start, chunk };
    if (scan.more && scan.last !== undefined) response.end = `t${scan.last}`;
    if (filter.lazyLoadMembers && scan.events.length > 0) {
      const members = await this.stateAt(scan.events[0]!.eventId);
      const senders = sendersOf(scan.events);
      response.state = members.filter((event) => isMemberOf(event, senders)).map((event) => toClientEvent(event));
    }
    return response;
  }

  /**
   * `GET /rooms/{roomId}/context/{eventId}`: the event, up to `limit` events around it
   * (half before, half after), and the state at the last event returned. The filter
   * applies to the surrounding events and the state, never to the event itself.
   */
  async context(requester: Requester, roomId: RoomId, eventId: string, query: { limit?: string; filter?: string }): Promise<Json> {
    const view = await this.access(requester, roomId);
    const event = await this.visibleEvent(requester, view, eventOf(eventId));
    const filter = await this.filter(requester, query.filter);
    const limit = Math.min(parseLimit(query.limit) ?? 10, MAX_LIMIT);
    const beforeLimit = Math.floor(limit / 2);
    const afterLimit = limit - beforeLimit;
    const empty: Scan = { events: [], last: undefined, more: false };
    const before = beforeLimit === 0 ? empty : await this.scan(requester, view, { from: event.streamOrdering, dir: 'b', to: undefined, limit: beforeLimit, filter });
    const after = afterLimit === 0 ? empty : await this.scan(requester, view, { from: event.streamOrdering, dir: 'f', to: undefined, limit: afterLimit, filter });
    const lastReturned = after.events[after.events.length - 1] ?? event;
    const returned = [...before.events, event, ...after.events];
    const senders = sendersOf(returned);
    const state = (await this.stateAt(lastReturned.eventId)).filter((stateEvent) => {
      if (!allows(filter, stateEvent)) return false;
      const pdu = JSON.parse(stateEvent.pduJson) as { type?: string };
      return !filter.lazyLoadMembers || pdu.type !== 'm.room.member' || isMemberOf(stateEvent, senders);
    });
    const [formattedEvent, ...formatted] = await this.format(requester, [event, ...before.events, ...after.events]);
    return {
      start: `t${before.last ?? event.streamOrdering}`,
      end: `t${after.last ?? event.streamOrdering}`,
      event: formattedEvent!,
      events_before: formatted.slice(0, before.events.length),
      events_after: formatted.slice(before.events.length),
      state: state.map((stateEvent) => toClientEvent(stateEvent)),
    };
  }

  /**
   * For receipts and read markers: the requester must be joined to the room
   * (`M_FORBIDDEN`), and each event in that room and visible to them (`M_NOT_FOUND`).
   */
  async checkJoinedAndVisible(requester: Requester, roomId: RoomId, eventIds: readonly EventId[]): Promise<void> {
    const membership = await this.roomQuery.getMembership({ roomId, userId: requester.userId });
    if (membership.membership !== 'join') throw new MatrixError('M_FORBIDDEN', 'you are not joined to this room', 403);
    const view: RoomView = { roomId, until: undefined, lastJoin: 'now' };
    for (const eventId of new Set(eventIds)) await this.visibleEvent(requester, view, eventId);
  }

  /** Whether the user can see the room's events at all (for `/forget` and friends). */
  async access(requester: Requester, roomId: RoomId): Promise<RoomView> {
    const membership = await this.roomQuery.getMembership({ roomId, userId: requester.userId });
    if (membership.membership === 'join') return { roomId, until: undefined, lastJoin: 'now' };
    if ((membership.membership === 'leave' || membership.membership === 'ban') && (await this.forgottenRooms.forgottenAt(requester.userId, roomId)) !== membership.eventId) {
      const [event] = (await this.roomQuery.getEvents({ eventIds: [membership.eventId], includeOutliers: false })).events;
      if (event !== undefined) {
        return { roomId, until: { position: BigInt(event.streamOrdering), eventId: event.eventId }, lastJoin: await this.lastJoin(requester.userId, event.eventId) };
      }
    }
    const current = await this.roomQuery.getCurrentState({ roomId, types: ['m.room.history_visibility'] });
    if (visibilityStateOf(current.events, requester.userId).historyVisibility === 'world_readable') return { roomId, until: undefined, lastJoin: undefined };
    throw new MatrixError('M_FORBIDDEN', 'you are not a member of this room', 403);
  }

  /** The event, if it is in the room and the user may see it; `M_NOT_FOUND` otherwise. */
  private async visibleEvent(requester: Requester, view: RoomView, eventId: EventId): Promise<RoomEvent> {
    const [event] = (await this.roomQuery.getEvents({ eventIds: [eventId], includeOutliers: false })).events;
    if (event === undefined || event.roomId !== view.roomId || (view.until !== undefined && BigInt(event.streamOrdering) > view.until.position) || !(await this.isVisible(requester, view, event))) {
      throw new MatrixError('M_NOT_FOUND', 'event not found', 404);
    }
    return event;
  }

  private async isVisible(requester: Requester, view: RoomView, event: RoomEvent): Promise<boolean> {
    const before = (await this.roomQuery.getStateAtEvent({ eventId: event.eventId, after: false })).events;
    return new VisibilityWalker(visibilityStateOf(before, requester.userId), requester.userId, view.lastJoin).next(event);
  }

  /**
   * Walks the room from `from` in `dir`, keeping the events the user may see and the
   * filter lets through, until `limit` are kept, the room ends, or `SCAN_PAGES` pages
   * were looked at (then `more` is set, and the client continues from `last`). Each page
   * costs one state lookup (the state before its oldest event); the walker tracks the
   * visibility through the page from there. That relies on stream order following the
   * room's DAG, which holds while every event is created here (the room server appends
   * each on top of the room's head); events arriving out of order over federation will
   * need the state before each such event instead.
   */
  private async scan(
    requester: Requester,
    view: RoomView,
    options: { from: string | undefined; dir: 'b' | 'f'; to: string | undefined; limit: number; filter: RoomEventFilter },
  ): Promise<Scan> {
    const { dir, limit, filter } = options;
    let cursor = options.from;
    // A departed user reads up to their leave, inclusive.
    const cap = view.until?.position;
    if (cap !== undefined && dir === 'b' && (cursor === undefined || BigInt(cursor) > cap + 1n)) cursor = (cap + 1n).toString();
    const kept: RoomEvent[] = [];
    let last: string | undefined;
    for (let pages = 0; pages < SCAN_PAGES; pages++) {
      const page = await this.roomQuery.paginate({ roomId: view.roomId, from: cursor ?? '', direction: dir, limit: Math.min(MAX_LIMIT, Math.max(limit - kept.length, 20)), to: options.to ?? '' });
      let events = page.events;
      let ended = page.next === '';
      if (cap !== undefined && dir === 'f') {
        const within = events.filter((event) => BigInt(event.streamOrdering) <= cap);
        if (within.length < events.length) ended = true;
        events = within;
      }
      if (events.length === 0) return { events: kept, last, more: false };
      const visible = await this.visibleIn(requester, view, dir === 'f' ? events : [...events].reverse());
      for (const [index, event] of events.entries()) {
        last = event.streamOrdering;
        if (!visible.has(event.eventId) || !allows(filter, event)) continue;
        kept.push(event);
        if (kept.length === limit) return { events: kept, last, more: index < events.length - 1 || !ended };
      }
      if (ended) return { events: kept, last, more: false };
      cursor = last;
    }
    return { events: kept, last, more: true };
  }

  /** The IDs of the events (in stream order) the user may see. */
  private async visibleIn(requester: Requester, view: RoomView, ascending: readonly RoomEvent[]): Promise<Set<string>> {
    const before = (await this.roomQuery.getStateAtEvent({ eventId: ascending[0]!.eventId, after: false })).events;
    const walker = new VisibilityWalker(visibilityStateOf(before, requester.userId), requester.userId, view.lastJoin);
    return new Set(ascending.filter((event) => walker.next(event)).map((event) => event.eventId));
  }

  /**
   * The stream position of the user's latest join before `membershipEventId`, following
   * their membership events back through the state before each.
   */
  private async lastJoin(userId: string, membershipEventId: string): Promise<bigint | undefined> {
    let eventId = membershipEventId;
    for (let hop = 0; hop < MEMBERSHIP_HOPS; hop++) {
      const state = (await this.roomQuery.getStateAtEvent({ eventId, after: false })).events;
      const member = state.find((event) => isMemberOf(event, new Set([userId])));
      if (member === undefined) return undefined;
      if (contentOf(member)['membership'] === 'join') return BigInt(member.streamOrdering);
      eventId = member.eventId;
    }
    return undefined;
  }

  private async visibleState(requester: Requester, roomId: RoomId): Promise<RoomEvent[]> {
    const view = await this.access(requester, roomId);
    if (view.until === undefined) return (await this.roomQuery.getCurrentState({ roomId, types: [] })).events;
    return this.stateAt(view.until.eventId);
  }

  private async stateAt(eventId: string): Promise<RoomEvent[]> {
    return (await this.roomQuery.getStateAtEvent({ eventId, after: true })).events;
  }

  /** The `filter` query parameter: inline JSON, or the ID of a filter the user uploaded (its `room.timeline`). */
  private async filter(requester: Requester, raw: string | undefined): Promise<RoomEventFilter> {
    if (raw === undefined || raw === '') return DEFAULT_FILTER.room.timeline;
    if (raw.trimStart().startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (error) {
        throw new MatrixError('M_NOT_JSON', `filter is not valid JSON: ${(error as Error).message}`, 400);
      }
      return parseRoomEventFilter(parsed);
    }
    const stored = await this.filters.find(requester.userId, raw);
    if (stored === undefined) throw new MatrixError('M_INVALID_PARAM', `no filter ${JSON.stringify(raw)}`, 400);
    return parseFilter(stored).room.timeline;
  }

  /**
   * Formats events for the requester: redactions applied, and `unsigned.transaction_id` on
   * those the requester's own device sent with one (the room server keeps it beside each).
   */
  private async format(requester: Requester, events: readonly RoomEvent[]): Promise<ClientEvent[]> {
    const redactionIds = [...new Set(events.map((event) => event.redactedBy).filter((id) => id !== ''))];
    const redactions = new Map((redactionIds.length === 0 ? [] : (await this.roomQuery.getEvents({ eventIds: redactionIds, includeOutliers: false })).events).map((event) => [event.eventId, event]));
    return events.map((event) => {
      const formatted = toClientEvent(event, redactions);
      if (event.transaction !== undefined && event.transaction.deviceId === requester.deviceId && formatted.sender === requester.userId) {
        formatted.unsigned = { ...formatted.unsigned, transaction_id: event.transaction.txnId };
      }
      return formatted;
    });
  }
}

/** Whether a `RoomEventFilter` lets an event through, judged on its PDU's type, sender, room and content. */
function allows(filter: RoomEventFilter, event: RoomEvent): boolean {
  const pdu = JSON.parse(event.pduJson) as { type?: string; sender?: string; content?: unknown };
  return roomEventFilterAllows(filter, { type: pdu.type ?? '', sender: pdu.sender ?? '', room_id: event.roomId, content: pdu.content });
}

function sendersOf(events: readonly RoomEvent[]): Set<string> {
  return new Set(events.map((event) => (JSON.parse(event.pduJson) as { sender?: string }).sender ?? ''));
}

function isMemberOf(event: RoomEvent, users: ReadonlySet<string>): boolean {
  const pdu = JSON.parse(event.pduJson) as { type?: string; state_key?: string };
  return pdu.type === 'm.room.member' && pdu.state_key !== undefined && users.has(pdu.state_key);
}

/**
 * The event a path names, parsed after the room access check (which answers first); an ID
 * that does not parse names no event: `M_NOT_FOUND`, as for an unknown one.
 */
function eventOf(eventId: string): EventId {
  const parsed = parseEventId(eventId);
  if (!parsed.ok) throw new MatrixError('M_NOT_FOUND', 'event not found', 404);
  return parsed.value;
}

function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const limit = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(limit)) throw new MatrixError('M_INVALID_PARAM', 'limit must be a non-negative integer', 400);
  return limit;
}

/**
 * The room position a `/messages` `from` or `to` token stands for, in the room server's
 * pagination terms for `dir` (exclusive in the direction of travel for `from`, inclusive
 * for `to`): a pagination token `t<position>` as it is, or a `/sync` token (`next_batch`,
 * which the spec lets `from` take) mapped to the room through the highest stream ordering
 * it records for the room's partitions (`roomPositionOf`): the room's events the sync
 * covered are those at or below it, so backwards starts just above it and forwards just
 * after it.
 */
function positionOf(token: string, roomId: RoomId, dir: 'b' | 'f'): string {
  if (!isSyncToken(token)) return parseToken(token);
  const sync = parseSyncToken(token);
  const counts = [roomOutputTopic.partitions, ...(sync.roomPartitionsWritten !== undefined ? [sync.roomPartitionsWritten] : [])];
  const ordering = BigInt(roomPositionOf(sync, counts.map((count) => partitionForKey(roomId, count))));
  return (dir === 'b' ? ordering + 1n : ordering).toString();
}

function parseToken(token: string): string {
  if (!/^t\d{1,19}$/.test(token)) throw new MatrixError('M_INVALID_PARAM', `invalid pagination token ${JSON.stringify(token)}`, 400);
  return token.slice(1);
}
