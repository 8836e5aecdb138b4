import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { getUserIdServerName, parseUserId, type RoomId, type UserId } from '@axon/matrix-identifiers';
import type { AxonConfig } from '@axon/platform-config';
import { InjectConfig } from '@axon/platform-runtime';
import { AccountDataService } from '../account-data/account-data.service';
import { objectBody, optionalString, requiredString, type JsonObject } from '@axon/platform-http';
import type { Requester } from '../auth/requester';
import { RoomInputClient } from '@axon/platform-room-input';
import { RoomQueryClient } from '../rooms/room-query.client';
import { requestId, RoomsService } from '../rooms/rooms.service';
import { ServerNoticeRoomsRepository } from '../storage/server-notice-rooms.repository';
import { UsersRepository } from '../storage/users.repository';
import { noticesUserIdOf } from './notices-user';

/** The room tag clients find a user's server-notices room by. */
export const SERVER_NOTICE_TAG = 'm.server_notice';

/**
 * Server notices, as Synapse sends them (`/_synapse/admin/v1/send_server_notice`): a
 * server admin sends a user an event from the notices user `@<system_mxid_localpart>:<server>`
 * (an account without a password, made on first use), in the user's one server-notices
 * room. The room is created by the notices user (private, named from the config, members
 * other than the notices user at power -10 so they cannot post), tagged `m.server_notice`
 * in the user's account data, and the user is invited to it whenever they are neither
 * invited nor joined, also after they left, so later notices reuse the same room. Everything
 * goes through the room server as the notices user, as a client's requests would.
 */
@Injectable()
export class ServerNoticesService {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly users: UsersRepository,
    private readonly rooms: RoomsService,
    private readonly input: RoomInputClient,
    private readonly roomQuery: RoomQueryClient,
    private readonly noticeRooms: ServerNoticeRoomsRepository,
    private readonly accountData: AccountDataService,
  ) {}

  /**
   * Sends a notice; answers its event ID. With a `txnId`, the same admin device sending the
   * same transaction ID again gets the first event ID back without anything being sent.
   */
  async send(admin: Requester, raw: unknown, txnId: string | undefined): Promise<string> {
    if (!(await this.users.find(admin.userId))?.isAdmin) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin', 403);
    const body = objectBody(raw);
    const target = requiredString(body, 'user_id');
    const content = body['content'];
    if (content === undefined || content === null) throw new MatrixError('M_MISSING_PARAM', 'Missing "content"', 400);
    if (typeof content !== 'object' || Array.isArray(content)) throw new MatrixError('M_BAD_JSON', '"content" must be an object', 400);
    const type = optionalString(body, 'type') ?? 'm.room.message';
    const stateKey = optionalString(body, 'state_key');
    if (type === 'm.room.member' || type === 'm.room.redaction') throw new MatrixError('M_BAD_JSON', `server notices cannot be ${type} events`, 400);
    const noticesUserId = noticesUserIdOf(this.config);
    if (noticesUserId === undefined) throw new MatrixError('M_UNKNOWN', 'Server notices are not enabled on this server', 400);
    const parsed = parseUserId(target);
    if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(target)} is not a user ID`, 400);
    if (getUserIdServerName(parsed.value) !== this.config.server_name) throw new MatrixError('M_UNKNOWN', 'Server notices can only be sent to local users', 400);
    if ((await this.users.find(parsed.value)) === undefined) throw new MatrixError('M_NOT_FOUND', 'User not found', 404);

    // A transaction already handled answers its first outcome before anything else runs,
    // so a retry neither re-invites nor sends again; one still in flight is joined by
    // submitting the same input (the room server handles a request ID once).
    const id = txnId === undefined ? randomUUID() : requestId('server_notice', admin.userId, admin.deviceId, txnId);
    if (txnId !== undefined) {
      const done = await this.input.outcome(id);
      if (done !== undefined) return done.eventId;
    }
    const system = await this.systemUser(noticesUserId);
    const roomId = await this.noticeRoomFor(system, parsed.value);
    return this.rooms.sendAs(system, roomId, { type, ...(stateKey === undefined ? {} : { state_key: stateKey }), content: content as JsonObject }, id);
  }

  /** The notices user as a requester, its account created (or its display name brought up to date) first. */
  private async systemUser(userId: UserId): Promise<Requester> {
    const displayname = this.config.server_notices.system_mxid_display_name;
    const profile = await this.users.profile(userId);
    if (profile === undefined) await this.users.insert({ userId, passwordHash: null, isGuest: false, isAdmin: false, profile: { displayname } });
    else if (profile['displayname'] !== displayname) await this.users.setProfileField(userId, 'displayname', displayname);
    // The notices user has no device and no token: it acts only through this service.
    return { userId, deviceId: '', isGuest: false, tokenHash: '' };
  }

  /** The user's server-notices room, created on first use, with the user invited to it unless they are in it. */
  private async noticeRoomFor(system: Requester, userId: UserId): Promise<RoomId> {
    let roomId = await this.noticeRooms.roomOf(userId);
    let stale: RoomId | undefined;
    // A room the notices user is no longer in cannot carry notices: make a new one.
    if (roomId !== undefined && (await this.roomQuery.getMembership({ roomId, userId: system.userId })).membership !== 'join') {
      stale = roomId;
      roomId = undefined;
    }
    if (roomId === undefined) {
      const created = await this.rooms.createRoom(system, {
        preset: 'private_chat',
        name: this.config.server_notices.room_name,
        power_level_content_override: { users_default: -10 },
      });
      // Two first notices at once each create a room; the first recorded wins and the
      // other stays empty but for the notices user (nobody was invited to it yet).
      roomId = await this.noticeRooms.record(userId, created.room_id, stale);
    }
    const membership = (await this.roomQuery.getMembership({ roomId, userId })).membership;
    if (membership !== 'join' && membership !== 'invite') {
      await this.rooms.setMembership(system, roomId, userId, 'invite');
      if ((await this.accountData.tags(userId, roomId))[SERVER_NOTICE_TAG] === undefined) await this.accountData.setTag(userId, roomId, SERVER_NOTICE_TAG, {});
    }
    return roomId;
  }
}
