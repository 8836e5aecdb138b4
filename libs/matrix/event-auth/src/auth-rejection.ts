/**
 * Which authorization rule rejected an event, as a stable name: the spec numbers the
 * rules differently in different room versions (the v12 room ID rule and the v6 removal
 * of the aliases rule shift them), so the names follow the rule's subject instead:
 *
 * - `create.*`: rule 1, `m.room.create` (`prev_events`, `room_id`, `room_version`,
 *   `creator` before v11, `additional_creators` from v12);
 * - `room_id.create_event`: v12 rule 2, the room ID names an accepted create event;
 * - `auth_events.*`: the checks on the `auth_events` list (`duplicate`, `unexpected`,
 *   `rejected`, `no_create` before v12, `other_room`);
 * - `federate`: `m.federate` is `false` and the sender is from another server;
 * - `aliases.state_key`: the `m.room.aliases` rule of room versions 1 to 5;
 * - `member.*`: the `m.room.member` rules, by membership;
 * - `sender.not_joined`: the sender of a non-membership event is not joined;
 * - `third_party_invite.power`: `m.room.third_party_invite` needs the invite level;
 * - `power.required`: the event type's required power level;
 * - `state_key.user_id`: a state key starting with `@` must be the sender;
 * - `power_levels.*`: the `m.room.power_levels` rules;
 * - `redaction.power`: the `m.room.redaction` rule of room versions 1 and 2.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export type AuthRule =
  | 'create.prev_events'
  | 'create.room_id'
  | 'create.room_version'
  | 'create.creator'
  | 'create.additional_creators'
  | 'room_id.create_event'
  | 'auth_events.duplicate'
  | 'auth_events.unexpected'
  | 'auth_events.rejected'
  | 'auth_events.no_create'
  | 'auth_events.other_room'
  | 'federate'
  | 'aliases.state_key'
  | 'member.malformed'
  | 'member.join.other_user'
  | 'member.join.banned'
  | 'member.join.not_invited'
  | 'member.join.not_authorised'
  | 'member.join.join_rule'
  | 'member.invite.third_party.banned'
  | 'member.invite.third_party.signed'
  | 'member.invite.third_party.mxid'
  | 'member.invite.third_party.invite_event'
  | 'member.invite.third_party.sender'
  | 'member.invite.third_party.signature'
  | 'member.invite.sender_not_joined'
  | 'member.invite.target_membership'
  | 'member.invite.power'
  | 'member.leave.membership'
  | 'member.leave.sender_not_joined'
  | 'member.leave.unban_power'
  | 'member.leave.kick_power'
  | 'member.ban.sender_not_joined'
  | 'member.ban.power'
  | 'member.knock.join_rule'
  | 'member.knock.other_user'
  | 'member.knock.membership'
  | 'member.unknown'
  | 'sender.not_joined'
  | 'third_party_invite.power'
  | 'power.required'
  | 'state_key.user_id'
  | 'power_levels.not_integer'
  | 'power_levels.users'
  | 'power_levels.creator_listed'
  | 'power_levels.change_old'
  | 'power_levels.change_new'
  | 'redaction.power';

/**
 * Why an event failed the authorization rules: the rule, and a reason for logs.
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export interface AuthRejection {
  readonly rule: AuthRule;
  readonly reason: string;
}
