import { Injectable } from '@nestjs/common';
import { getJoinRuleAccess, getRestrictedJoinAllowedRooms } from '@axon/matrix-event-auth';
import { isJsonObject } from '@axon/matrix-events';
import { MatrixError } from '@axon/matrix-errors';
import { getUserIdServerName, type RoomId, type UserId } from '@axon/matrix-identifiers';
import { getRoomVersionRules } from '@axon/matrix-room-versions';
import type { AxonConfig } from '@axon/platform-config';
import { InjectConfig } from '@axon/platform-runtime';
import { RoomQueryClient } from '../rooms/room-query.client';

/** The body of `GET /room_summary/{roomIdOrAlias}` (`RoomSummary` plus `membership`). */
export interface RoomSummary {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  room_version?: string;
  name?: string;
  topic?: string;
  canonical_alias?: string;
  avatar_url?: string;
  join_rule?: string;
  room_type?: string;
  encryption?: string;
  allowed_room_ids?: string[];
  membership?: string;
}

type Content = Readonly<Record<string, unknown>>;

const SUMMARY_STATE = [
  'm.room.create',
  'm.room.name',
  'm.room.topic',
  'm.room.avatar',
  'm.room.canonical_alias',
  'm.room.join_rules',
  'm.room.history_visibility',
  'm.room.guest_access',
  'm.room.encryption',
];

const stringField = (content: Content | undefined, key: string): string | undefined => {
  const value = content?.[key];
  return typeof value === 'string' ? value : undefined;
};

/**
 * Room summaries (Client-Server API, "Room summaries", MSC3266), as Synapse builds them for
 * a room this server is in: who may see one (`isAccessible`) and what it holds. Rooms this
 * server is not in would be asked of the `via` servers over federation, which Axon does
 * not speak yet: those are not found.
 */
@Injectable()
export class RoomSummaryService {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly roomQuery: RoomQueryClient,
  ) {}

  async summary(requester: UserId | undefined, roomId: RoomId, via: readonly string[]): Promise<RoomSummary> {
    const info = await this.roomQuery.getRoomInfo({ roomId });
    const joined = info.exists ? (await this.roomQuery.getMembers({ roomId, atEventId: '', memberships: ['join'], notMemberships: [] })).events : [];
    const joinedUsers = joined.map((event) => (JSON.parse(event.pduJson) as { state_key?: string }).state_key).filter((user): user is string => typeof user === 'string');
    const hostJoined = joinedUsers.some((user) => getUserIdServerName(user as UserId) === this.config.server_name);
    if (!hostJoined) {
      // As Synapse: a room this server is not in needs servers to ask.
      if (via.length === 0) throw new MatrixError('M_UNKNOWN', 'Missing via to query remote room', 400);
      throw new MatrixError('M_NOT_FOUND', 'Room not found or is not accessible', 404);
    }
    const state = new Map<string, Content>();
    for (const event of (await this.roomQuery.getCurrentState({ roomId, types: SUMMARY_STATE })).events) {
      const pdu = JSON.parse(event.pduJson) as { type: string; state_key?: string; content?: unknown };
      if (pdu.state_key === '' && isJsonObject(pdu.content as never)) state.set(pdu.type, pdu.content as Content);
    }
    const membership = requester === undefined ? undefined : (await this.roomQuery.getMembership({ roomId, userId: requester })).membership;
    if (!(await this.isAccessible(requester, info.roomVersion, state, membership))) throw new MatrixError('M_NOT_FOUND', 'Room not found or is not accessible', 404);

    const joinRule = stringField(state.get('m.room.join_rules'), 'join_rule');
    const summary: RoomSummary = {
      room_id: roomId,
      room_version: info.roomVersion,
      num_joined_members: joinedUsers.length,
      world_readable: stringField(state.get('m.room.history_visibility'), 'history_visibility') === 'world_readable',
      guest_can_join: stringField(state.get('m.room.guest_access'), 'guest_access') === 'can_join',
    };
    const optional: Array<[keyof RoomSummary, string | undefined]> = [
      ['name', stringField(state.get('m.room.name'), 'name')],
      ['topic', stringField(state.get('m.room.topic'), 'topic')],
      ['canonical_alias', stringField(state.get('m.room.canonical_alias'), 'alias')],
      ['avatar_url', stringField(state.get('m.room.avatar'), 'url')],
      ['join_rule', joinRule],
      ['room_type', stringField(state.get('m.room.create'), 'type')],
      ['encryption', stringField(state.get('m.room.encryption'), 'algorithm')],
    ];
    for (const [key, value] of optional) if (value !== undefined && value !== '') (summary as unknown as Record<string, unknown>)[key] = value;
    const allowed = this.allowedRooms(info.roomVersion, state.get('m.room.join_rules'));
    if (allowed.length > 0) summary.allowed_room_ids = allowed;
    if (requester !== undefined) summary.membership = membership === '' || membership === undefined ? 'leave' : membership;
    return summary;
  }

  /**
   * Synapse's `_is_local_room_accessible`: a room whose join rule lets anyone in or knock
   * (`public`, `knock`, `knock_restricted` where the room version has them), a
   * `world_readable` one, or one the requester is joined or invited to, or may join
   * through a restricted join rule's rooms.
   */
  private async isAccessible(requester: UserId | undefined, roomVersion: string, state: ReadonlyMap<string, Content>, membership: string | undefined): Promise<boolean> {
    const versionRules = getRoomVersionRules(roomVersion);
    if (!versionRules.ok) return false;
    const rules = versionRules.value.authorization;
    const joinRule = stringField(state.get('m.room.join_rules'), 'join_rule');
    if (joinRule !== undefined) {
      const access = getJoinRuleAccess(joinRule, rules);
      if (access.join || access.knock) return true;
    }
    if (stringField(state.get('m.room.history_visibility'), 'history_visibility') === 'world_readable') return true;
    if (requester === undefined) return false;
    if (membership === 'join' || membership === 'invite') return true;
    for (const allowedRoom of this.allowedRooms(roomVersion, state.get('m.room.join_rules'))) {
      if ((await this.roomQuery.getMembership({ roomId: allowedRoom, userId: requester })).membership === 'join') return true;
    }
    return false;
  }

  /** The rooms a restricted join rule admits the members of (none for other join rules or room versions without them). */
  private allowedRooms(roomVersion: string, joinRules: Content | undefined): RoomId[] {
    const joinRule = stringField(joinRules, 'join_rule');
    const rules = getRoomVersionRules(roomVersion);
    if (joinRules === undefined || joinRule === undefined || !rules.ok) return [];
    if (!getJoinRuleAccess(joinRule, rules.value.authorization).joinIfAllowed) return [];
    return getRestrictedJoinAllowedRooms(joinRules as never);
  }
}
