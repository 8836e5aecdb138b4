import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import type { AuthEvent } from './auth-event';
import type { AuthorizationRules } from './authorization-rules';
import type { AuthRejection } from './auth-rejection';
import { formatStateKey, type StateKey } from './state-key';

/**
 * The fields of an event (built or received) that decide which state events it must cite.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#auth-events-selection
 */
export interface AuthEventsSelectionInput {
  readonly type: string;
  readonly state_key?: string;
  readonly sender: string;
  readonly content: JsonObject;
}

function own(object: JsonObject, name: string): JsonValue | undefined {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

/**
 * The (`type`, `state_key`) pairs of the state events an event must cite in `auth_events`
 * (those present in the room's state): `m.room.create` (not from room version 12, where
 * the room ID stands for it), `m.room.power_levels`, the sender's `m.room.member`, and for
 * `m.room.member` events the target's membership, the join rules for `join`, `invite` and
 * `knock`, the `m.room.third_party_invite` named by a third-party invite's token, and the
 * authorising user's membership for a restricted join (from v8). `m.room.create` itself
 * cites nothing.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#auth-events-selection
 */
export function selectAuthEventKeys(event: AuthEventsSelectionInput, rules: AuthorizationRules): StateKey[] {
  if (event.type === 'm.room.create') return [];
  const keys = new Set<StateKey>();
  if (!rules.roomIdIsCreateEventId) keys.add(formatStateKey('m.room.create', ''));
  keys.add(formatStateKey('m.room.power_levels', ''));
  keys.add(formatStateKey('m.room.member', event.sender));
  if (event.type === 'm.room.member' && event.state_key !== undefined) {
    keys.add(formatStateKey('m.room.member', event.state_key));
    const membership = own(event.content, 'membership');
    if (membership === 'join' || membership === 'invite' || membership === 'knock') keys.add(formatStateKey('m.room.join_rules', ''));
    const thirdPartyInvite = own(event.content, 'third_party_invite');
    if (membership === 'invite' && isJsonObject(thirdPartyInvite)) {
      const signed = own(thirdPartyInvite, 'signed');
      const token = isJsonObject(signed) ? own(signed, 'token') : undefined;
      if (typeof token === 'string') keys.add(formatStateKey('m.room.third_party_invite', token));
    }
    const authoriser = own(event.content, 'join_authorised_via_users_server');
    if (membership === 'join' && rules.restrictedJoinRule && typeof authoriser === 'string') {
      keys.add(formatStateKey('m.room.member', authoriser));
    }
  }
  return [...keys];
}

/**
 * The checks on an event's own `auth_events` list (rule 2, rule 3 from room version 12):
 * no two entries for one (`type`, `state_key`); every entry one the auth events selection
 * asks for; none rejected; an `m.room.create` among them (before v12); every entry in the
 * event's room. `authEvents` are the cited events, all of which the caller has; `isRejected`
 * says which were rejected on receipt.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export function checkAuthEventsList(
  event: AuthEvent,
  authEvents: readonly AuthEvent[],
  rules: AuthorizationRules,
  isRejected: (eventId: string) => boolean,
): Result<void, AuthRejection> {
  const allowed = new Set(selectAuthEventKeys(event, rules));
  const seen = new Set<StateKey>();
  let hasCreate = false;
  for (const authEvent of authEvents) {
    if (authEvent.state_key === undefined) {
      return err({ rule: 'auth_events.unexpected', reason: `auth event ${authEvent.event_id} is not a state event` });
    }
    const key = formatStateKey(authEvent.type, authEvent.state_key);
    if (seen.has(key)) {
      return err({ rule: 'auth_events.duplicate', reason: `two auth events for (${authEvent.type}, ${authEvent.state_key})` });
    }
    seen.add(key);
    if (!allowed.has(key)) {
      return err({ rule: 'auth_events.unexpected', reason: `auth event (${authEvent.type}, ${authEvent.state_key}) is not one the selection algorithm asks for` });
    }
    if (isRejected(authEvent.event_id)) return err({ rule: 'auth_events.rejected', reason: `auth event ${authEvent.event_id} was rejected` });
    if (authEvent.type === 'm.room.create') hasCreate = true;
    if (authEvent.room_id !== event.room_id) {
      return err({ rule: 'auth_events.other_room', reason: `auth event ${authEvent.event_id} is in another room` });
    }
  }
  if (!rules.roomIdIsCreateEventId && !hasCreate) return err({ rule: 'auth_events.no_create', reason: 'no m.room.create among the auth events' });
  return ok(undefined);
}
