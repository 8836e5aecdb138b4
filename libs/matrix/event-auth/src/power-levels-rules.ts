import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import { parseHistoricalUserId } from '@axon/matrix-identifiers';
import type { AuthEvent, AuthState } from './auth-event';
import type { AuthRejection, AuthRule } from './auth-rejection';
import type { AuthorizationRules } from './authorization-rules';
import { getRoomCreators, getUserPowerLevel, parsePowerLevelValue, POWER_LEVEL_NAMES } from './power-levels';

type AuthResult = Result<void, AuthRejection>;

function reject(rule: AuthRule, reason: string): AuthResult {
  return err({ rule, reason });
}

function own(object: JsonObject, name: string): JsonValue | undefined {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

/** Whether `value` is an object whose every value is a power level under `rules`. */
function isLevelMap(value: JsonValue | undefined, rules: AuthorizationRules): value is JsonObject {
  return isJsonObject(value) && Object.values(value).every((level) => parsePowerLevelValue(level, rules) !== undefined);
}

/**
 * Compares one level between the old and new content. Unchanged values pass. A changed,
 * added or removed level must not be above `limit` before or after; for other users'
 * entries in `users` (`strictOld`), the old value must also be below the sender's level.
 * Values that are not levels count as absent on the old side (the old event was accepted
 * with them) and are refused on the new side (rule 10.1 to 10.3 catch most of them).
 */
function checkAlteration(
  oldValue: JsonValue | undefined,
  newValue: JsonValue | undefined,
  rules: AuthorizationRules,
  senderLevel: number,
  strictOld: boolean,
): 'ok' | 'old_too_high' | 'new_too_high' | 'not_a_level' {
  const oldLevel = parsePowerLevelValue(oldValue, rules);
  const newLevel = parsePowerLevelValue(newValue, rules);
  if (newValue !== undefined && newLevel === undefined) return 'not_a_level';
  if (oldLevel === newLevel) return 'ok';
  if (oldLevel !== undefined && (strictOld ? oldLevel >= senderLevel : oldLevel > senderLevel)) return 'old_too_high';
  if (newLevel !== undefined && newLevel > senderLevel) return 'new_too_high';
  return 'ok';
}

function ownMap(content: JsonObject, name: string): JsonObject {
  const value = own(content, name);
  return isJsonObject(value) ? value : {};
}

/**
 * Rule 10 (room version 12 numbering; 9 in v6 to v11, 10 before v6): a change of
 * `m.room.power_levels`. From room version 10 every level must be an integer; `users` keys
 * must be user IDs; from v12 room creators may not be listed. The first power levels event
 * is allowed; after that no level above the sender's own may be added, changed or
 * removed, other users' entries at or above the sender's level may not be touched, and
 * `notifications` is checked like `events` from room version 6.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export function checkPowerLevelsChange(event: AuthEvent, state: AuthState, rules: AuthorizationRules): AuthResult {
  const content = event.content;
  if (rules.integerPowerLevels) {
    for (const name of POWER_LEVEL_NAMES) {
      const value = own(content, name);
      if (value !== undefined && parsePowerLevelValue(value, rules) === undefined) return reject('power_levels.not_integer', `${name} is not an integer`);
    }
    for (const name of ['events', 'notifications']) {
      const value = own(content, name);
      if (value !== undefined && !isLevelMap(value, rules)) return reject('power_levels.not_integer', `${name} is not an object of integers`);
    }
  }
  const users = own(content, 'users');
  if (users !== undefined) {
    if (!isLevelMap(users, rules) || !Object.keys(users).every((userId) => parseHistoricalUserId(userId).ok)) {
      return reject('power_levels.users', 'users is not an object of user IDs to integers');
    }
    if (rules.explicitlyPrivilegeRoomCreators) {
      const creators = getRoomCreators(state.get('m.room.create', ''), rules);
      if (creators.some((creator) => Object.hasOwn(users, creator))) return reject('power_levels.creator_listed', 'users lists a room creator');
    }
  }
  const previous = state.get('m.room.power_levels', '');
  if (previous === undefined) return ok(undefined);

  const senderLevel = getUserPowerLevel(event.sender, state, rules);
  const old = previous.content;
  for (const name of POWER_LEVEL_NAMES) {
    const outcome = checkAlteration(own(old, name), own(content, name), rules, senderLevel, false);
    if (outcome !== 'ok') return rejectAlteration(outcome, false, name);
  }
  const maps = rules.limitNotificationsPowerLevels ? ['events', 'notifications'] : ['events'];
  for (const map of maps) {
    const before = ownMap(old, map);
    const after = ownMap(content, map);
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const outcome = checkAlteration(own(before, key), own(after, key), rules, senderLevel, false);
      if (outcome !== 'ok') return rejectAlteration(outcome, false, `${map}.${key}`);
    }
  }
  const usersBefore = ownMap(old, 'users');
  const usersAfter = ownMap(content, 'users');
  for (const userId of new Set([...Object.keys(usersBefore), ...Object.keys(usersAfter)])) {
    const outcome = checkAlteration(own(usersBefore, userId), own(usersAfter, userId), rules, senderLevel, userId !== event.sender);
    if (outcome !== 'ok') return rejectAlteration(outcome, userId !== event.sender, `users.${userId}`);
  }
  return ok(undefined);
}

function rejectAlteration(outcome: 'old_too_high' | 'new_too_high' | 'not_a_level', otherUser: boolean, what: string): AuthResult {
  switch (outcome) {
    case 'old_too_high':
      return otherUser
        ? reject('power_levels.change_old', `${what}: the current value is not below the sender's level`)
        : reject('power_levels.change_old', `${what}: the current value is above the sender's level`);
    case 'new_too_high':
      return reject('power_levels.change_new', `${what}: the new value is above the sender's level`);
    case 'not_a_level':
      return reject('power_levels.not_integer', `${what}: the new value is not a power level`);
  }
}
