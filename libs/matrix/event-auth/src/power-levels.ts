import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { isJsonObject } from '@axon/matrix-events';
import type { AuthEvent, AuthState } from './auth-event';
import type { AuthorizationRules } from './authorization-rules';

/**
 * The top-level integer properties of `m.room.power_levels` content, with their defaults
 * when the property (or the whole event) is absent.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroompower_levels
 */
export const POWER_LEVEL_DEFAULTS = {
  users_default: 0,
  events_default: 0,
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
} as const;

/** A named power level of `m.room.power_levels` content. */
export type PowerLevelName = keyof typeof POWER_LEVEL_DEFAULTS;

/** The named levels in the order the authorization rules list them. */
export const POWER_LEVEL_NAMES: readonly PowerLevelName[] = ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite'];

/**
 * The power level of a room creator in room version 12 and later: infinitely high.
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export const CREATOR_POWER_LEVEL = Number.POSITIVE_INFINITY;

/** The level of the creator when a room before version 12 has no power levels event. */
const LEGACY_CREATOR_POWER_LEVEL = 100;

// Room versions 1-9: "a single base 10 integer ... optionally with any number of leading
// or trailing whitespace characters", an optional sign, leading zeroes allowed.
const STRINGY_INTEGER = /^\s*[+-]?[0-9]+\s*$/;

/**
 * Reads one power level value. From room version 10 only integers count. Before that,
 * strings holding an integer are accepted (`" +050 "` is 50) and, in rooms whose JSON is
 * not canonical (1 to 5), floats are truncated (`50.57` is 50); non-finite values are not
 * levels. (From room version 6 strict canonical JSON refuses floats before an event gets
 * here.) Returns `undefined` for anything that is not a power level.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#mroompower_levels-events-accept-values-as-strings
 */
export function parsePowerLevelValue(value: JsonValue | undefined, rules: AuthorizationRules): number | undefined {
  if (typeof value === 'number') {
    if (rules.integerPowerLevels) return Number.isSafeInteger(value) ? value : undefined;
    return Number.isFinite(value) ? Math.trunc(value) || 0 : undefined;
  }
  if (typeof value === 'bigint') return undefined; // beyond 2^53 - 1: never a valid level
  if (typeof value === 'string' && !rules.integerPowerLevels && STRINGY_INTEGER.test(value)) {
    const parsed = Number(value.trim());
    return Number.isSafeInteger(parsed) ? parsed || 0 : undefined;
  }
  return undefined;
}

function own(object: JsonObject, name: string): JsonValue | undefined {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

function ownObject(object: JsonObject, name: string): JsonObject | undefined {
  const value = own(object, name);
  return isJsonObject(value) ? value : undefined;
}

/**
 * The room's creators: in room version 12 the create event's `sender` and every user in
 * `content.additional_creators`; from v11 the `sender`; before that `content.creator`.
 * Empty when there is no create event.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export function getRoomCreators(create: AuthEvent | undefined, rules: AuthorizationRules): readonly string[] {
  if (create === undefined) return [];
  if (!rules.useRoomCreateSender) {
    const creator = own(create.content, 'creator');
    return typeof creator === 'string' ? [creator] : [];
  }
  const creators = [create.sender];
  if (rules.explicitlyPrivilegeRoomCreators) {
    const additional = own(create.content, 'additional_creators');
    if (Array.isArray(additional)) {
      for (const user of additional) if (typeof user === 'string' && !creators.includes(user)) creators.push(user);
    }
  }
  return creators;
}

/**
 * A named level (`ban`, `kick`, `invite`, …) from power levels content, or its default
 * when the property is absent or not a level (`undefined` content means no power levels
 * event).
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroompower_levels
 */
export function getNamedPowerLevel(content: JsonObject | undefined, name: PowerLevelName, rules: AuthorizationRules): number {
  const value = content === undefined ? undefined : parsePowerLevelValue(own(content, name), rules);
  return value ?? POWER_LEVEL_DEFAULTS[name];
}

/**
 * A user's power level in a state: infinite for room creators from room version 12;
 * otherwise `users[userId]`, else `users_default`; without a power levels event, 100 for
 * the creator (before v12) and 0 for everyone else.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroompower_levels
 */
export function getUserPowerLevel(userId: string, state: AuthState, rules: AuthorizationRules): number {
  const create = state.get('m.room.create', '');
  if (rules.explicitlyPrivilegeRoomCreators && getRoomCreators(create, rules).includes(userId)) return CREATOR_POWER_LEVEL;
  const powerLevels = state.get('m.room.power_levels', '');
  if (powerLevels === undefined) {
    return !rules.explicitlyPrivilegeRoomCreators && getRoomCreators(create, rules).includes(userId) ? LEGACY_CREATOR_POWER_LEVEL : 0;
  }
  const users = ownObject(powerLevels.content, 'users');
  const explicit = users === undefined ? undefined : parsePowerLevelValue(own(users, userId), rules);
  return explicit ?? getNamedPowerLevel(powerLevels.content, 'users_default', rules);
}

/**
 * The level needed to send an event of `type` (a state event when `stateKey` is given):
 * `events[type]`, else `state_default` (50) for state events or `events_default` (0).
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroompower_levels
 */
export function getEventPowerLevel(type: string, stateKey: string | undefined, state: AuthState, rules: AuthorizationRules): number {
  const content = state.get('m.room.power_levels', '')?.content;
  const events = content === undefined ? undefined : ownObject(content, 'events');
  const explicit = events === undefined ? undefined : parsePowerLevelValue(own(events, type), rules);
  return explicit ?? getNamedPowerLevel(content, stateKey === undefined ? 'events_default' : 'state_default', rules);
}

/**
 * The level needed to trigger a notification of `key`: `notifications[key]`, else 50 for
 * `room` (`@room`); `undefined` for other keys the content does not set.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroompower_levels
 */
export function getNotificationPowerLevel(key: string, state: AuthState, rules: AuthorizationRules): number | undefined {
  const content = state.get('m.room.power_levels', '')?.content;
  const notifications = content === undefined ? undefined : ownObject(content, 'notifications');
  const explicit = notifications === undefined ? undefined : parsePowerLevelValue(own(notifications, key), rules);
  return explicit ?? (key === 'room' ? 50 : undefined);
}
