/**
 * The authorization sub-rules of a room version, as plain data: each flag is a difference
 * between the spec's rule lists, named for what it changes, with the room version that
 * introduced it. The room-versions library maps each room version to one of the
 * `AUTHORIZATION_V*` constants; the algorithms here take these rules, never a version.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/#complete-list-of-room-versions
 */
export interface AuthorizationRules {
  /**
   * `m.room.aliases` has its own rule: the `state_key` must be the sender's server, and
   * nothing else is checked (room versions 1 to 5; removed in v6).
   * Spec: https://spec.matrix.org/v1.19/rooms/v6/#authorization-rules
   */
  readonly specialCaseRoomAliases: boolean;
  /**
   * `m.room.redaction` is allowed when the sender has the redact level or the two event
   * IDs share a server (room versions 1 and 2; removed in v3, whose event IDs name no
   * server; redactions are then checked when applied instead).
   * Spec: https://spec.matrix.org/v1.19/rooms/v3/#authorization-rules
   */
  readonly specialCaseRoomRedaction: boolean;
  /**
   * Power-level changes are checked for `notifications` as for `events` (introduced in
   * room version 6).
   * Spec: https://spec.matrix.org/v1.19/rooms/v6/#authorization-rules
   */
  readonly limitNotificationsPowerLevels: boolean;
  /**
   * The `knock` join rule and membership (introduced in room version 7).
   * Spec: https://spec.matrix.org/v1.19/rooms/v7/#authorization-rules
   */
  readonly knocking: boolean;
  /**
   * The `restricted` join rule and `join_authorised_via_users_server` (introduced in room
   * version 8).
   * Spec: https://spec.matrix.org/v1.19/rooms/v8/#authorization-rules
   */
  readonly restrictedJoinRule: boolean;
  /**
   * The `knock_restricted` join rule (introduced in room version 10).
   * Spec: https://spec.matrix.org/v1.19/rooms/v10/#authorization-rules
   */
  readonly knockRestrictedJoinRule: boolean;
  /**
   * Power levels must be integers: rules 10.1 and 10.2 reject anything else. Before room
   * version 10, values may be strings holding integers (and, in rooms 1 to 5 whose JSON
   * is not canonical, floats, truncated).
   * Spec: https://spec.matrix.org/v1.19/rooms/v10/#authorization-rules
   */
  readonly integerPowerLevels: boolean;
  /**
   * The room creator is the `sender` of `m.room.create`, whose content no longer needs
   * `creator` (introduced in room version 11).
   * Spec: https://spec.matrix.org/v1.19/rooms/v11/#authorization-rules
   */
  readonly useRoomCreateSender: boolean;
  /**
   * Room creators (the create event's `sender` and `content.additional_creators`) have
   * infinite power and may not appear in `users` of `m.room.power_levels` (introduced in
   * room version 12).
   * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
   */
  readonly explicitlyPrivilegeRoomCreators: boolean;
  /**
   * The room ID is the create event's ID (`!` for `$`): `m.room.create` has no `room_id`,
   * is never cited in `auth_events`, and every other event's `room_id` must name an
   * accepted create event (introduced in room version 12).
   * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
   */
  readonly roomIdIsCreateEventId: boolean;
}

/**
 * Room versions 1 and 2.
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#authorization-rules
 */
export const AUTHORIZATION_V1: AuthorizationRules = {
  specialCaseRoomAliases: true,
  specialCaseRoomRedaction: true,
  limitNotificationsPowerLevels: false,
  knocking: false,
  restrictedJoinRule: false,
  knockRestrictedJoinRule: false,
  integerPowerLevels: false,
  useRoomCreateSender: false,
  explicitlyPrivilegeRoomCreators: false,
  roomIdIsCreateEventId: false,
};

/**
 * Room versions 3 to 5: no redaction rule.
 * Spec: https://spec.matrix.org/v1.19/rooms/v3/#authorization-rules
 */
export const AUTHORIZATION_V3: AuthorizationRules = { ...AUTHORIZATION_V1, specialCaseRoomRedaction: false };

/**
 * Room version 6: no `m.room.aliases` rule; `notifications` power levels checked.
 * Spec: https://spec.matrix.org/v1.19/rooms/v6/#authorization-rules
 */
export const AUTHORIZATION_V6: AuthorizationRules = { ...AUTHORIZATION_V3, specialCaseRoomAliases: false, limitNotificationsPowerLevels: true };

/**
 * Room version 7: knocking.
 * Spec: https://spec.matrix.org/v1.19/rooms/v7/#authorization-rules
 */
export const AUTHORIZATION_V7: AuthorizationRules = { ...AUTHORIZATION_V6, knocking: true };

/**
 * Room versions 8 and 9: restricted joins.
 * Spec: https://spec.matrix.org/v1.19/rooms/v8/#authorization-rules
 */
export const AUTHORIZATION_V8: AuthorizationRules = { ...AUTHORIZATION_V7, restrictedJoinRule: true };

/**
 * Room version 10: `knock_restricted`, integer-only power levels.
 * Spec: https://spec.matrix.org/v1.19/rooms/v10/#authorization-rules
 */
export const AUTHORIZATION_V10: AuthorizationRules = { ...AUTHORIZATION_V8, knockRestrictedJoinRule: true, integerPowerLevels: true };

/**
 * Room version 11: the creator is the create event's sender.
 * Spec: https://spec.matrix.org/v1.19/rooms/v11/#authorization-rules
 */
export const AUTHORIZATION_V11: AuthorizationRules = { ...AUTHORIZATION_V10, useRoomCreateSender: true };

/**
 * Room version 12: privileged creators; the room ID is the create event's ID.
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export const AUTHORIZATION_V12: AuthorizationRules = {
  ...AUTHORIZATION_V11,
  explicitlyPrivilegeRoomCreators: true,
  roomIdIsCreateEventId: true,
};
