import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import { getCreateEventIdOfRoomId, getRoomIdServerName, parseHistoricalUserId, parseRoomId } from '@axon/matrix-identifiers';
import type { Ed25519Backend } from '@axon/matrix-signing';
import type { AuthEvent, AuthState } from './auth-event';
import type { AuthRejection, AuthRule } from './auth-rejection';
import type { AuthorizationRules } from './authorization-rules';
import { checkMembershipChange } from './membership-rules';
import { checkPowerLevelsChange } from './power-levels-rules';
import { getEventPowerLevel, getNamedPowerLevel, getUserPowerLevel } from './power-levels';
import { getMembership, getUserServer } from './room-state';

/**
 * What the authorization rules need besides the event, the state and the rules:
 * `isKnownRoomVersion` for `m.room.create`'s `content.room_version` (rule 1.3), and an
 * Ed25519 backend to check third-party invite signatures (without one, such invites are
 * refused).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export interface EventAuthOptions {
  readonly isKnownRoomVersion: (version: string) => boolean;
  readonly backend?: Ed25519Backend;
}

/** The outcome of the authorization rules: allowed, or the rule that rejected the event. */
export type AuthResult = Result<void, AuthRejection>;

const ALLOW: AuthResult = ok(undefined);

function reject(rule: AuthRule, reason: string): AuthResult {
  return err({ rule, reason });
}

function own(object: JsonObject, name: string): JsonValue | undefined {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

function checkCreate(event: AuthEvent, rules: AuthorizationRules, options: EventAuthOptions): AuthResult {
  if (event.prev_events.length > 0) return reject('create.prev_events', 'm.room.create has prev_events');
  if (rules.roomIdIsCreateEventId) {
    if (event.room_id !== undefined) return reject('create.room_id', 'm.room.create has a room_id');
  } else {
    const roomId = event.room_id === undefined ? undefined : parseRoomId(event.room_id);
    const roomServer = roomId?.ok ? getRoomIdServerName(roomId.value) : undefined;
    if (roomServer === undefined || roomServer !== getUserServer(event.sender)) {
      return reject('create.room_id', 'the room ID\'s server is not the sender\'s');
    }
  }
  const roomVersion = own(event.content, 'room_version');
  if (roomVersion !== undefined && (typeof roomVersion !== 'string' || !options.isKnownRoomVersion(roomVersion))) {
    return reject('create.room_version', `unknown room_version ${JSON.stringify(roomVersion)}`);
  }
  if (!rules.useRoomCreateSender && !Object.hasOwn(event.content, 'creator')) return reject('create.creator', 'm.room.create content has no creator');
  if (rules.explicitlyPrivilegeRoomCreators && Object.hasOwn(event.content, 'additional_creators')) {
    const additional = event.content['additional_creators'];
    if (!Array.isArray(additional) || !additional.every((user) => typeof user === 'string' && parseHistoricalUserId(user).ok)) {
      return reject('create.additional_creators', 'additional_creators is not an array of user IDs');
    }
  }
  return ALLOW;
}

/**
 * Room version 12, rule 2: the room ID must name the create event (`!x` for `$x`) that
 * the state holds. The caller puts only an accepted create event in the state.
 */
function checkRoomIdNamesCreate(event: AuthEvent, create: AuthEvent | undefined): AuthResult {
  const roomId = event.room_id === undefined ? undefined : parseRoomId(event.room_id);
  const createId = roomId?.ok ? getCreateEventIdOfRoomId(roomId.value) : undefined;
  if (createId === undefined || create === undefined || create.event_id !== createId) {
    return reject('room_id.create_event', 'the room ID does not name the room\'s m.room.create event');
  }
  return ALLOW;
}

function checkRedaction(event: AuthEvent, state: AuthState, rules: AuthorizationRules): AuthResult {
  if (getUserPowerLevel(event.sender, state, rules) >= getNamedPowerLevel(state.get('m.room.power_levels', '')?.content, 'redact', rules)) {
    return ALLOW;
  }
  const eventServer = event.event_id.includes(':') ? event.event_id.slice(event.event_id.indexOf(':') + 1) : undefined;
  const redacts = event.redacts;
  const redactedServer = redacts !== undefined && redacts.includes(':') ? redacts.slice(redacts.indexOf(':') + 1) : undefined;
  if (eventServer !== undefined && eventServer === redactedServer) return ALLOW;
  return reject('redaction.power', 'the sender lacks the redact level and the redacted event is from another server');
}

/**
 * The authorization rules of a room version for one event against a state: the event's
 * auth events (on receipt), the state before it, or the current state (soft failure).
 * Checks rule 1 (`m.room.create`), the v12 room ID rule, `m.federate`, the
 * `m.room.aliases` rule (v1-5), membership, sender membership, third-party invites,
 * required power levels, user-ID state keys, power-level changes and the v1-2 redaction
 * rule. The checks on the `auth_events` list itself are `checkAuthEventsList`. The
 * signature of a restricted join's authorising server (rule 5.2) is checked with the
 * other signatures (`verifyEventSignatures` in the signing library), where the keys are.
 *
 * For room version 12, `state` must answer `m.room.create` (never cited in `auth_events`).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export function checkEventAuth(event: AuthEvent, state: AuthState, rules: AuthorizationRules, options: EventAuthOptions): AuthResult {
  if (event.type === 'm.room.create') return checkCreate(event, rules, options);
  const create = state.get('m.room.create', '');
  if (rules.roomIdIsCreateEventId) {
    const named = checkRoomIdNamesCreate(event, create);
    if (!named.ok) return named;
  } else if (create === undefined) {
    return reject('auth_events.no_create', 'no m.room.create in the auth state');
  }
  if (create !== undefined && own(create.content, 'm.federate') === false && getUserServer(event.sender) !== getUserServer(create.sender)) {
    return reject('federate', 'the room does not federate and the sender is from another server');
  }
  if (rules.specialCaseRoomAliases && event.type === 'm.room.aliases') {
    if (event.state_key === undefined) return reject('aliases.state_key', 'm.room.aliases has no state_key');
    if (event.state_key !== getUserServer(event.sender)) return reject('aliases.state_key', 'm.room.aliases state_key is not the sender\'s server');
    return ALLOW;
  }
  if (event.type === 'm.room.member') return checkMembershipChange(event, state, rules, options);
  if (getMembership(state, event.sender) !== 'join') return reject('sender.not_joined', 'the sender is not joined to the room');
  const senderLevel = getUserPowerLevel(event.sender, state, rules);
  const powerLevels = state.get('m.room.power_levels', '')?.content;
  if (event.type === 'm.room.third_party_invite') {
    return senderLevel >= getNamedPowerLevel(powerLevels, 'invite', rules) ? ALLOW : reject('third_party_invite.power', 'the sender lacks the invite level');
  }
  if (getEventPowerLevel(event.type, event.state_key, state, rules) > senderLevel) {
    return reject('power.required', `the sender lacks the power level to send ${event.type}`);
  }
  if (event.state_key !== undefined && event.state_key.startsWith('@') && event.state_key !== event.sender) {
    return reject('state_key.user_id', 'a state_key starting with @ must be the sender');
  }
  if (event.type === 'm.room.power_levels') return checkPowerLevelsChange(event, state, rules);
  if (rules.specialCaseRoomRedaction && event.type === 'm.room.redaction') return checkRedaction(event, state, rules);
  return ALLOW;
}
