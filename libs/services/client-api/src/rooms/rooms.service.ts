import { isDeepStrictEqual } from 'node:util';
import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { ProtoEvent, SentTransaction } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import { getRoomIdServerName, parseRoomAlias, parseUserId, type EventId, type RoomId, type UserId } from '@axon/matrix-identifiers';
import type { AxonConfig } from '@axon/platform-config';
import { InjectConfig } from '@axon/platform-runtime';
import { noticesUserIdOf } from '../admin/notices-user';
import type { Requester } from '../auth/requester';
import { DirectoryService } from '../directory/directory.service';
import { ForgottenRoomsRepository } from '../storage/forgotten-rooms.repository';
import { ServerNoticeRoomsRepository } from '../storage/server-notice-rooms.repository';
import { UsersRepository } from '../storage/users.repository';
import { contentOf } from './client-event';
import { planCreateRoom } from './create-room';
import { RoomInputClient } from '@axon/platform-room-input';
import { RemoteRoomsClient } from './remote-rooms.client';
import { RoomQueryClient } from './room-query.client';

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

type Json = Readonly<Record<string, unknown>>;

/** A room input request ID derived from what makes a client request unique, so a retry submits the same input. */
export function requestId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('base64url');
}

/** The requester's device and a transaction ID it sent an event with. */
function transactionOf(requester: Requester, txnId: string): SentTransaction {
  return { device_id: requester.deviceId, txn_id: txnId };
}

/**
 * The write half of the room endpoints: room creation, membership, sending, redacting
 * and forgetting. Writes go to the room server as inputs (it builds and authorises every
 * event); `RoomReadsService` has the reads.
 */
@Injectable()
export class RoomsService {
  constructor(
    private readonly input: RoomInputClient,
    private readonly roomQuery: RoomQueryClient,
    private readonly users: UsersRepository,
    private readonly directory: DirectoryService,
    private readonly forgottenRooms: ForgottenRoomsRepository,
    private readonly noticeRooms: ServerNoticeRoomsRepository,
    @InjectConfig() private readonly config: AxonConfig,
    private readonly remoteRooms: RemoteRoomsClient,
  ) {}

  async createRoom(requester: Requester, body: Json): Promise<{ room_id: RoomId }> {
    const profile = await this.memberProfile(requester.userId);
    const plan = planCreateRoom(body, requester.userId, profile, this.config.rooms.default_version, this.config.server_name);
    const alias = plan.roomAlias === undefined ? undefined : this.directory.localAlias(plan.roomAlias);
    if (alias !== undefined && (await this.directory.isTaken(alias))) throw new MatrixError('M_ROOM_IN_USE', `Room alias ${alias} already exists.`, 400);
    const created = await this.input.submit({ kind: 'create_room', request_id: randomUUID(), room_version: plan.rules.id, events: plan.events });
    // The alias was free a moment ago; a concurrent creation may still have taken it.
    if (alias !== undefined && !(await this.directory.reserve(requester, alias, created.roomId))) {
      throw new MatrixError('M_ROOM_IN_USE', `Room alias ${alias} already exists.`, 400);
    }
    if (plan.visibility === 'public') await this.directory.publish(created.roomId);
    return { room_id: created.roomId };
  }

  /**
   * Joins a room: through the room server when this server is in the room (a local user
   * is joined), else through other servers (`RemoteRooms.JoinRoom`: make_join and
   * send_join with the first of them that answers): `via`, then the server that made the
   * room (its ID names it before room version 12), then servers of the room's members
   * known here.
   *
   * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3joinroomidoralias
   */
  async join(requester: Requester, roomId: RoomId, via: readonly string[], extra: Json = {}): Promise<EventId> {
    const room = await this.residency(roomId, via);
    if (room.resident || (room.known && room.servers.length === 0)) return this.setMembership(requester, roomId, requester.userId, 'join', extra);
    if (room.servers.length === 0) throw new MatrixError('M_NOT_FOUND', `unknown room ${roomId}, and no server to join it through`, 404);
    const content = { ...extra, ...(await this.memberProfile(requester.userId)) };
    const { eventId } = await this.remoteRooms.joinRoom({ roomId, userId: requester.userId, servers: room.servers, contentJson: JSON.stringify(content) });
    return eventId as EventId;
  }

  /** Knocks on a room: through the room server when this server is in it, else through other servers (make_knock, send_knock). */
  async knock(requester: Requester, roomId: RoomId, via: readonly string[], extra: Json = {}): Promise<EventId> {
    const room = await this.residency(roomId, via);
    if (room.resident || (room.known && room.servers.length === 0)) return this.setMembership(requester, roomId, requester.userId, 'knock', extra);
    if (room.servers.length === 0) throw new MatrixError('M_NOT_FOUND', `unknown room ${roomId}, and no server to knock through`, 404);
    const content = { ...extra, ...(await this.memberProfile(requester.userId)) };
    const { eventId } = await this.remoteRooms.knockRoom({ roomId, userId: requester.userId, servers: room.servers, contentJson: JSON.stringify(content) });
    return eventId as EventId;
  }

  /**
   * Whether a user of this server is joined to the room (the room server then has the
   * room and builds its events), and else the servers to reach it through: `via`, the
   * server that made the room (its ID names it before room version 12), the servers of
   * the members known here (an inviting user's first).
   */
  private async residency(roomId: RoomId, via: readonly string[]): Promise<{ resident: boolean; known: boolean; servers: string[] }> {
    const info = await this.roomQuery.getRoomInfo({ roomId });
    const members = info.exists ? (await this.roomQuery.getMembers({ roomId, atEventId: '', memberships: [], notMemberships: [] })).events : [];
    const memberships = members.map((event) => JSON.parse(event.pduJson) as { state_key: string; sender: string; content?: { membership?: unknown } });
    const local = (userId: string): boolean => serverOf(userId) === this.config.server_name;
    if (info.exists && memberships.some((m) => local(m.state_key) && m.content?.membership === 'join')) return { resident: true, known: true, servers: [] };
    const creator = getRoomIdServerName(roomId);
    const inviters = memberships.filter((m) => local(m.state_key) && (m.content?.membership === 'invite' || m.content?.membership === 'knock')).map((m) => serverOf(m.sender));
    const joined = memberships.filter((m) => m.content?.membership === 'join').map((m) => serverOf(m.state_key));
    const servers = [...new Set([...via, ...inviters, ...(creator === undefined ? [] : [creator]), ...joined])].filter((server) => server !== this.config.server_name);
    return { resident: false, known: info.exists, servers };
  }

  /**
   * Sets a membership (join, invite, leave, kick, ban, unban, knock) through the room
   * server. The target is parsed here, once, for every caller: it comes from a body's
   * `user_id`, a state key, or the requester.
   */
  async setMembership(requester: Requester, roomId: RoomId, userId: string, membership: string, extra: Json = {}, withProfile = true): Promise<EventId> {
    const parsed = parseUserId(userId);
    if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(userId)} is not a user ID`);
    const target = parsed.value;
    const info = await this.roomQuery.getRoomInfo({ roomId });
    if (!info.exists) throw new MatrixError(membership === 'join' || membership === 'knock' ? 'M_NOT_FOUND' : 'M_FORBIDDEN', `unknown room ${roomId}`, membership === 'join' || membership === 'knock' ? 404 : 403);
    // A user of another server is invited through their server, which signs the invite.
    if (membership === 'invite' && serverOf(target) !== this.config.server_name) {
      const { eventId } = await this.remoteRooms.invite({ roomId, sender: requester.userId, target, contentJson: JSON.stringify(extra) });
      return eventId as EventId;
    }
    // Leaving a room this server is not in (rejecting an invite, withdrawing a knock) goes through a server that is.
    if (membership === 'leave' && target === requester.userId) {
      const room = await this.residency(roomId, []);
      // A room only this server ever was in (its last joined member left) is left here.
      if (!room.resident && room.servers.length > 0) {
        const { eventId } = await this.remoteRooms.leaveRoom({ roomId, userId: target, servers: room.servers, contentJson: JSON.stringify(extra) });
        return eventId as EventId;
      }
    }
    if (membership === 'leave' && target === requester.userId) await this.checkMayLeave(requester.userId, roomId);
    if (membership === 'leave' && target !== requester.userId) {
      // A kick, an unban, or an invite or knock withdrawn: the target must be in the room in some way.
      const current = await this.roomQuery.getMembership({ roomId, userId: target });
      if (!['join', 'invite', 'knock', 'ban'].includes(current.membership)) throw new MatrixError('M_FORBIDDEN', `${target} is not in the room`, 403);
    }
    const content: Record<string, unknown> = { ...extra, membership };
    if (withProfile && target === requester.userId && (membership === 'join' || membership === 'knock')) Object.assign(content, await this.memberProfile(target), { membership });
    const same = await this.sameState(roomId, 'm.room.member', target, requester.userId, content);
    if (same !== undefined) return same;
    return this.send(roomId, { type: 'm.room.member', state_key: target, sender: requester.userId, content }, randomUUID());
  }

  /**
   * `PUT /rooms/{roomId}/send/{eventType}/{txnId}`: idempotent per device and path, and
   * the event carries the transaction to the room server, which keeps it beside the event
   * for `unsigned.transaction_id`. Without a transaction ID (the older `POST`), each
   * request is a new event, and none is shown.
   */
  async sendMessage(requester: Requester, roomId: RoomId, type: string, txnId: string | undefined, content: Json): Promise<EventId> {
    if (type === 'm.room.redaction') throw new MatrixError('M_BAD_JSON', 'send redactions with /redact', 400);
    const event = { type, sender: requester.userId, content };
    if (txnId === undefined) return this.send(roomId, event, randomUUID());
    return this.send(roomId, event, requestId('send', requester.userId, requester.deviceId, roomId, type, txnId), transactionOf(requester, txnId));
  }

  /**
   * Sends an event the server originates as `requester` (server notices), under a request
   * ID the caller derives, so that a retried request answers the first outcome.
   */
  async sendAs(requester: Requester, roomId: RoomId, event: { type: string; state_key?: string; content: Json }, id: string): Promise<EventId> {
    return this.send(roomId, { ...event, sender: requester.userId }, id);
  }

  async sendState(requester: Requester, roomId: RoomId, type: string, stateKey: string, content: Json): Promise<EventId> {
    if (type === 'm.room.member') {
      // A membership set through the state API goes the membership path (its checks),
      // with the content as given (a room-specific display name, for one).
      const { membership, ...rest } = content;
      if (typeof membership !== 'string') throw new MatrixError('M_BAD_JSON', 'content.membership must be a string', 400);
      return this.setMembership(requester, roomId, stateKey, membership, rest, false);
    }
    if (type === 'm.room.canonical_alias' && stateKey === '') await this.checkCanonicalAlias(roomId, content);
    const same = await this.sameState(roomId, type, stateKey, requester.userId, content);
    if (same !== undefined) return same;
    return this.send(roomId, { type, state_key: stateKey, sender: requester.userId, content }, randomUUID());
  }

  async redact(requester: Requester, roomId: RoomId, eventId: string, txnId: string, reason: string | undefined): Promise<EventId> {
    const content = reason === undefined ? {} : { reason };
    return this.send(
      roomId,
      { type: 'm.room.redaction', sender: requester.userId, content, redacts: eventId },
      requestId('redact', requester.userId, requester.deviceId, roomId, eventId, txnId),
      transactionOf(requester, txnId),
    );
  }

  /**
   * `POST /rooms/{roomId}/forget`: only once the user has left (or was kicked or banned);
   * the room stays forgotten until their membership changes again.
   * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidforget
   */
  async forget(requester: Requester, roomId: RoomId): Promise<void> {
    const membership = await this.roomQuery.getMembership({ roomId, userId: requester.userId });
    if (membership.membership !== 'leave' && membership.membership !== 'ban') {
      const why = membership.membership === '' ? 'has never been' : 'is';
      throw new MatrixError('M_UNKNOWN', `User ${requester.userId} ${why} in room ${roomId}`, 400);
    }
    // The room server's own event ID (of a leave or ban: never empty here).
    await this.forgottenRooms.forget(requester.userId, roomId, membership.eventId as EventId);
  }

  async joinedRooms(requester: Requester): Promise<string[]> {
    return (await this.roomQuery.getRoomsOfUser({ userId: requester.userId, membership: 'join' })).roomIds;
  }

  /**
   * New aliases in `m.room.canonical_alias` (`alias`, `alt_aliases`) must be valid and
   * point to this room; aliases already in the current event are not checked again.
   * Spec: https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey
   */
  /**
   * The current state event of (`type`, `stateKey`) when it is already what is asked (same
   * sender, same content): setting state twice, or joining twice, answers that event
   * instead of adding an identical one (as Synapse does).
   */
  private async sameState(roomId: RoomId, type: string, stateKey: string, sender: string, content: Json): Promise<EventId | undefined> {
    const current = (await this.roomQuery.getStateEvent({ roomId, type, stateKey })).events[0];
    if (current === undefined) return undefined;
    const pdu = JSON.parse(current.pduJson) as { sender?: string };
    return pdu.sender === sender && isDeepStrictEqual(contentOf(current), content) ? (current.eventId as EventId) : undefined;
  }

  private async checkCanonicalAlias(roomId: RoomId, content: Json): Promise<void> {
    const current = (await this.roomQuery.getStateEvent({ roomId, type: 'm.room.canonical_alias', stateKey: '' })).events[0];
    const existing = new Set<unknown>();
    if (current !== undefined) {
      const previous = contentOf(current);
      existing.add(previous['alias']);
      if (Array.isArray(previous['alt_aliases'])) for (const alias of previous['alt_aliases']) existing.add(alias);
    }
    const alt = content['alt_aliases'];
    if (alt !== undefined && !Array.isArray(alt)) throw new MatrixError('M_INVALID_PARAM', '"alt_aliases" must be a list', 400);
    const listed = [content['alias'], ...((alt as unknown[] | undefined) ?? [])].filter((alias) => alias !== undefined && alias !== null);
    for (const alias of listed) {
      if (existing.has(alias)) continue;
      if (typeof alias !== 'string') throw new MatrixError('M_INVALID_PARAM', 'aliases must be strings', 400);
      const parsed = parseRoomAlias(alias);
      if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(alias)} is not a room alias`, 400);
      const resolved = await this.directory.resolve(parsed.value).catch(() => undefined);
      if (resolved?.room_id !== roomId) throw new MatrixError('M_BAD_ALIAS', `${alias} does not point to this room`, 400);
    }
  }

  /**
   * A user cannot reject the invite to their server-notices room (Synapse's
   * `M_CANNOT_LEAVE_SERVER_NOTICE_ROOM`); once they joined it, they may leave.
   */
  private async checkMayLeave(userId: UserId, roomId: RoomId): Promise<void> {
    if (noticesUserIdOf(this.config) === undefined) return;
    if (!(await this.noticeRooms.isNoticeRoom(userId, roomId))) return;
    if ((await this.roomQuery.getMembership({ roomId, userId })).membership !== 'invite') return;
    throw new MatrixError('M_CANNOT_LEAVE_SERVER_NOTICE_ROOM', 'You cannot reject this invite', 403);
  }

  private async send(roomId: RoomId, event: ProtoEvent, id: string, transaction?: SentTransaction): Promise<EventId> {
    return (await this.input.submit({ kind: 'new_event', request_id: id, room_id: roomId, event, ...(transaction === undefined ? {} : { transaction }) })).eventId;
  }

  private async memberProfile(userId: UserId): Promise<Record<string, string>> {
    const profile = await this.users.profile(userId);
    const result: Record<string, string> = {};
    if (typeof profile?.['displayname'] === 'string') result['displayname'] = profile['displayname'];
    if (typeof profile?.['avatar_url'] === 'string') result['avatar_url'] = profile['avatar_url'];
    return result;
  }
}

