import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { isJsonObject } from '@axon/matrix-events';
import { parseRoomId, type RoomId } from '@axon/matrix-identifiers';
import type { AuthorizationRules } from './authorization-rules';

/**
 * What a join rule lets a user without an invite do, under a room version's rules:
 * - `join`: join directly (`public`);
 * - `join_if_allowed`: join when one of the `allow` conditions holds, with a resident
 *   server that can invite signing the join (`restricted` from v8, `knock_restricted`
 *   from v10);
 * - `knock`: ask to be invited (`knock` from v7, `knock_restricted` from v10);
 * - `none`: nothing (`invite`, `private`, and rules the room version does not know).
 * `knock_restricted` allows both joining when allowed and knocking.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroomjoin_rules
 */
export interface JoinRuleAccess {
  readonly join: boolean;
  readonly joinIfAllowed: boolean;
  readonly knock: boolean;
}

/**
 * The access a join rule gives a user who is not invited, per `JoinRuleAccess`.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroomjoin_rules
 */
export function getJoinRuleAccess(joinRule: string, rules: AuthorizationRules): JoinRuleAccess {
  return {
    join: joinRule === 'public',
    joinIfAllowed: (rules.restrictedJoinRule && joinRule === 'restricted') || (rules.knockRestrictedJoinRule && joinRule === 'knock_restricted'),
    knock: (rules.knocking && joinRule === 'knock') || (rules.knockRestrictedJoinRule && joinRule === 'knock_restricted'),
  };
}

/**
 * The rooms whose members may join a restricted room: the `room` of every `allow` entry
 * of type `m.room_membership` in `m.room.join_rules` content. Entries that do not match
 * the expected format are ignored, so an absent, empty or malformed `allow` admits nobody.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#restricted-rooms
 */
export function getRestrictedJoinAllowedRooms(joinRulesContent: JsonObject): RoomId[] {
  const allow: JsonValue | undefined = Object.hasOwn(joinRulesContent, 'allow') ? joinRulesContent['allow'] : undefined;
  if (!Array.isArray(allow)) return [];
  const rooms: RoomId[] = [];
  for (const entry of allow) {
    if (!isJsonObject(entry) || entry['type'] !== 'm.room_membership') continue;
    const room = entry['room'];
    const parsed = typeof room === 'string' ? parseRoomId(room) : undefined;
    if (parsed?.ok && !rooms.includes(parsed.value)) rooms.push(parsed.value);
  }
  return rooms;
}
