import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { RoomEvent } from '@axon/contracts-grpc';
import type { ProtoEvent } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import { parseRoomId, parseUserId } from '@axon/matrix-identifiers';
import type { AxonConfig } from '@axon/platform-config';
import { InjectConfig } from '@axon/platform-runtime';
import type { Requester } from '../auth/requester';
import { UsersRepository } from '../storage/users.repository';
import { contentOf, toClientEvent, type ClientEvent } from './client-event';
import { planCreateRoom } from './create-room';
import { RoomInputClient } from './room-input.client';

type Json = Readonly<Record<string, unknown>>;

/** A user's view of a room: its version, and up to where they may see it. */
interface RoomAccess {
  readonly membership: string;
  /** The stream position of their leave or ban, when they are no longer in the room. */
  readonly until: string | undefined;
  readonly membershipEventId: string;
}

function requestId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('base64url');
}

/**
 * The room half of the Client-Server API: room creation, membership, sending, and
 * reading rooms. Writes go to the room server as inputs (it builds and authorises every
 * event); reads come from `RoomQuery`. Clients only see rooms they are in, and only up to
 * their leave once they have left.
 */
@Injectable()
export class RoomsService {
  constructor(
    private readonly input: RoomInputClient,
    private readonly users: UsersRepository,
    @InjectConfig() private readonly config: AxonConfig,
  ) {}

  async createRoom(requester: Requester, body: Json): Promise<{ room_id: string }> {
    const profile = await this.memberProfile(requester.userId);
    const plan = planCreateRoom(body, requester.userId, profile, this.config.rooms.default_version);
    if (plan.roomAliasName !== undefined) throw new MatrixError('M_UNRECOGNIZED', 'room aliases are not supported by this server yet', 400);
    if (plan.visibility === 'public') throw new MatrixError('M_UNRECOGNIZED', 'the public room directory is not supported by this server yet', 400);
    const created = await this.input.submit({ kind: 'create_room', request_id: randomUUID(), room_version: plan.rules.id, events: plan.events });
    return { room_id: created.roomId };
  }

  /** Sets a membership (join, invite, leave, kick, ban, unban, knock) through the room server. */
  async setMembership(requester: Requester, roomId: string, target: string, membership: string, extra: Json = {}): Promise<string> {
    this.checkRoomId(roomId);
    if (!parseUserId(target).ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(target)} is not a user ID`);
    const info = await this.input.query.getRoomInfo({ roomId });
    if (!info.exists) throw new MatrixError(membership === 'join' || membership === 'knock' ? 'M_NOT_FOUND' : 'M_FORBIDDEN', `unknown room ${roomId}`, membership === 'join' || membership === 'knock' ? 404 : 403);
    const content: Record<string, unknown> = { ...extra, membership };
    if (target === requester.userId && (membership === 'join' || membership === 'knock')) Object.assign(content, await this.memberProfile(target), { membership });
    return this.send(roomId, { type: 'm.room.member', state_key: target, sender: requester.userId, content }, randomUUID());
  }

  /** `PUT /rooms/{roomId}/send/{eventType}/{txnId}`: idempotent per device and path. */
  async sendMessage(requester: Requester, roomId: string, type: string, txnId: string, content: Json): Promise<string> {
    this.checkRoomId(roomId);
    if (type === 'm.room.redaction') throw new MatrixError('M_BAD_JSON', 'send redactions with /redact', 400);
    return this.send(roomId, { type, sender: requester.userId, content }, requestId('send', requester.userId, requester.deviceId, roomId, type, txnId));
  }

  async sendState(requester: Requester, roomId: string, type: string, stateKey: string, content: Json): Promise<string> {
    this.checkRoomId(roomId);
    if (type === 'm.room.member') throw new MatrixError('M_BAD_JSON', 'use the membership endpoints to change memberships', 400);
    return this.send(roomId, { type, state_key: stateKey, sender: requester.userId, content }, randomUUID());
  }

  async redact(requester: Requester, roomId: string, eventId: string, txnId: string, reason: string | undefined): Promise<string> {
    this.checkRoomId(roomId);
    const content = reason === undefined ? {} : { reason };
    return this.send(roomId, { type: 'm.room.redaction', sender: requester.userId, content, redacts: eventId }, requestId('redact', requester.userId, requester.deviceId, roomId, eventId, txnId));
  }

  async joinedRooms(requester: Requester): Promise<string[]> {
    return (await this.input.query.getRoomsOfUser({ userId: requester.userId, membership: 'join' })).roomIds;
  }

  async stateEvent(requester: Requester, roomId: string, type: string, stateKey: string): Promise<ClientEvent> {
    const state = await this.visibleState(requester, roomId);
    const event = state.find((candidate) => {
      const pdu = JSON.parse(candidate.pduJson) as { type?: string; state_key?: string };
      return pdu.type === type && pdu.state_key === stateKey;
    });
    if (event === undefined) throw new MatrixError('M_NOT_FOUND', 'no such state event', 404);
    return toClientEvent(event);
  }

  async state(requester: Requester, roomId: string): Promise<ClientEvent[]> {
    return (await this.visibleState(requester, roomId)).map((event) => toClientEvent(event));
  }

  async members(requester: Requester, roomId: string, query: { at?: string; membership?: string; not_membership?: string }): Promise<ClientEvent[]> {
    const access = await this.access(requester, roomId);
    const response = await this.input.query.getMembers({
      roomId,
      atEventId: access.until === undefined ? '' : access.membershipEventId,
      memberships: query.membership === undefined ? [] : [query.membership],
      notMemberships: query.not_membership === undefined ? [] : [query.not_membership],
    });
    return response.events.map((event) => toClientEvent(event));
  }

  async joinedMembers(requester: Requester, roomId: string): Promise<Record<string, { display_name?: string; avatar_url?: string }>> {
    const access = await this.access(requester, roomId);
    if (access.membership !== 'join') throw new MatrixError('M_FORBIDDEN', 'you are not joined to this room', 403);
    const members = await this.input.query.getMembers({ roomId, atEventId: '', memberships: ['join'], notMemberships: [] });
    const joined: Record<string, { display_name?: string; avatar_url?: string }> = {};
    for (const event of members.events) {
      const pdu = JSON.parse(event.pduJson) as { state_key: string };
      const content = contentOf(event);
      joined[pdu.state_key] = {
        ...(typeof content['displayname'] === 'string' ? { display_name: content['displayname'] } : {}),
        ...(typeof content['avatar_url'] === 'string' ? { avatar_url: content['avatar_url'] } : {}),
      };
    }
    return joined;
  }

  async event(requester: Requester, roomId: string, eventId: string): Promise<ClientEvent> {
    const access = await this.access(requester, roomId);
    const [event] = (await this.input.query.getEvents({ eventIds: [eventId] })).events;
    if (event === undefined || event.roomId !== roomId || (access.until !== undefined && BigInt(event.streamOrdering) > BigInt(access.until))) {
      throw new MatrixError('M_NOT_FOUND', 'event not found', 404);
    }
    return (await this.format([event]))[0]!;
  }

  /**
   * `GET /rooms/{roomId}/messages`: the room's events in stream order from a token, `b`
   * (newest first) or `f`. Tokens are `t<position>`.
   */
  async messages(requester: Requester, roomId: string, query: { from?: string; to?: string; dir?: string; limit?: string }): Promise<{ start: string; end?: string; chunk: ClientEvent[] }> {
    const access = await this.access(requester, roomId);
    const dir = query.dir ?? 'b';
    if (dir !== 'b' && dir !== 'f') throw new MatrixError('M_INVALID_PARAM', 'dir must be "b" or "f"', 400);
    const limit = query.limit === undefined ? 10 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 0) throw new MatrixError('M_INVALID_PARAM', 'limit must be a non-negative integer', 400);
    const from = query.from === undefined ? undefined : parseToken(query.from);
    const to = query.to === undefined ? undefined : parseToken(query.to);
    // A user who left sees the room up to their leave.
    let start = from;
    if (access.until !== undefined && dir === 'b' && (start === undefined || BigInt(start) > BigInt(access.until) + 1n)) start = (BigInt(access.until) + 1n).toString();
    const info = await this.input.query.getRoomInfo({ roomId });
    const startToken = `t${from ?? (dir === 'b' ? (BigInt(info.latestStreamOrdering) + 1n).toString() : '0')}`;
    if (limit === 0) return { start: startToken, chunk: [] };
    const page = await this.input.query.paginate({ roomId, from: start ?? '', direction: dir, limit: Math.min(limit, 1000), to: to ?? '' });
    let events = page.events;
    if (access.until !== undefined && dir === 'f') events = events.filter((event) => BigInt(event.streamOrdering) <= BigInt(access.until!));
    const chunk = await this.format(events);
    const last = events[events.length - 1];
    const more = page.next !== '' && !(access.until !== undefined && dir === 'f' && events.length < page.events.length);
    return { start: startToken, chunk, ...(more && last !== undefined ? { end: `t${last.streamOrdering}` } : {}) };
  }

  private async format(events: readonly RoomEvent[]): Promise<ClientEvent[]> {
    const redactionIds = [...new Set(events.map((event) => event.redactedBy).filter((id) => id !== ''))];
    const redactions = new Map((redactionIds.length === 0 ? [] : (await this.input.query.getEvents({ eventIds: redactionIds })).events).map((event) => [event.eventId, event]));
    return events.map((event) => toClientEvent(event, redactions));
  }

  private async visibleState(requester: Requester, roomId: string): Promise<RoomEvent[]> {
    const access = await this.access(requester, roomId);
    if (access.until === undefined) return (await this.input.query.getCurrentState({ roomId, types: [] })).events;
    return (await this.input.query.getStateAtEvent({ eventId: access.membershipEventId, after: true })).events;
  }

  /** The caller's access: joined (everything), or left/banned (up to that event); otherwise forbidden. */
  private async access(requester: Requester, roomId: string): Promise<RoomAccess> {
    this.checkRoomId(roomId);
    const membership = await this.input.query.getMembership({ roomId, userId: requester.userId });
    if (membership.membership === 'join') return { membership: 'join', until: undefined, membershipEventId: membership.eventId };
    if (membership.membership === 'leave' || membership.membership === 'ban') {
      const [event] = (await this.input.query.getEvents({ eventIds: [membership.eventId] })).events;
      if (event !== undefined) return { membership: membership.membership, until: event.streamOrdering, membershipEventId: membership.eventId };
    }
    throw new MatrixError('M_FORBIDDEN', 'you are not a member of this room', 403);
  }

  private async send(roomId: string, event: ProtoEvent, id: string): Promise<string> {
    return (await this.input.submit({ kind: 'new_event', request_id: id, room_id: roomId, event })).eventId;
  }

  private checkRoomId(roomId: string): void {
    if (!parseRoomId(roomId).ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(roomId)} is not a room ID`, 400);
  }

  private async memberProfile(userId: string): Promise<Record<string, string>> {
    const profile = await this.users.profile(userId);
    const result: Record<string, string> = {};
    if (typeof profile?.['displayname'] === 'string') result['displayname'] = profile['displayname'];
    if (typeof profile?.['avatar_url'] === 'string') result['avatar_url'] = profile['avatar_url'];
    return result;
  }
}

function parseToken(token: string): string {
  if (!/^t\d{1,19}$/.test(token)) throw new MatrixError('M_INVALID_PARAM', `invalid pagination token ${JSON.stringify(token)}`, 400);
  return token.slice(1);
}
