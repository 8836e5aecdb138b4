import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import type { AuthEvent, AuthState } from './auth-event';
import type { AuthRejection, AuthRule } from './auth-rejection';
import type { AuthorizationRules } from './authorization-rules';
import type { EventAuthOptions } from './event-auth';
import { getNamedPowerLevel, getUserPowerLevel } from './power-levels';
import { getJoinRule, getMembership } from './room-state';
import { getThirdPartyInvitePublicKeys, verifyThirdPartyInviteSignature } from './third-party-invite';

type AuthResult = Result<void, AuthRejection>;

const ALLOW: AuthResult = ok(undefined);

function reject(rule: AuthRule, reason: string): AuthResult {
  return err({ rule, reason });
}

function own(object: JsonObject, name: string): JsonValue | undefined {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

/**
 * Rule 5 of room version 12 (4 before room version 6): `m.room.member` events, numbered
 * as in room version 12 (earlier versions lack 5.2, restricted joins, and 5.7, knocking).
 */
export function checkMembershipChange(event: AuthEvent, state: AuthState, rules: AuthorizationRules, options: EventAuthOptions): AuthResult {
  const membership = own(event.content, 'membership');
  if (event.state_key === undefined || membership === undefined) return reject('member.malformed', 'm.room.member needs a state_key and content.membership');
  const target = event.state_key;
  const senderMembership = getMembership(state, event.sender);
  const targetMembership = getMembership(state, target);
  const powerLevels = state.get('m.room.power_levels', '')?.content;
  const senderLevel = (): number => getUserPowerLevel(event.sender, state, rules);
  const targetLevel = (): number => getUserPowerLevel(target, state, rules);
  const joinRule = getJoinRule(state);

  switch (membership) {
    case 'join': {
      const create = state.get('m.room.create', '');
      if (
        create !== undefined &&
        event.prev_events.length === 1 &&
        event.prev_events[0] === create.event_id &&
        (rules.useRoomCreateSender ? create.sender : own(create.content, 'creator')) === target
      ) {
        return ALLOW;
      }
      if (event.sender !== target) return reject('member.join.other_user', 'only the user may join themselves');
      if (senderMembership === 'ban') return reject('member.join.banned', 'the user is banned');
      if (joinRule === 'invite' || (rules.knocking && joinRule === 'knock')) {
        return senderMembership === 'invite' || senderMembership === 'join' ? ALLOW : reject('member.join.not_invited', 'the room is invite-only and the user is not invited');
      }
      if ((rules.restrictedJoinRule && joinRule === 'restricted') || (rules.knockRestrictedJoinRule && joinRule === 'knock_restricted')) {
        if (senderMembership === 'join' || senderMembership === 'invite') return ALLOW;
        const authoriser = own(event.content, 'join_authorised_via_users_server');
        if (
          typeof authoriser !== 'string' ||
          getMembership(state, authoriser) !== 'join' ||
          getUserPowerLevel(authoriser, state, rules) < getNamedPowerLevel(powerLevels, 'invite', rules)
        ) {
          return reject('member.join.not_authorised', 'join_authorised_via_users_server is not a joined user who may invite');
        }
        return ALLOW;
      }
      if (joinRule === 'public') return ALLOW;
      return reject('member.join.join_rule', `the join rule ${JSON.stringify(joinRule)} does not let the user join`);
    }
    case 'invite': {
      const thirdPartyInvite = own(event.content, 'third_party_invite');
      if (thirdPartyInvite !== undefined) return checkThirdPartyInvite(event, thirdPartyInvite, targetMembership, state, options);
      if (senderMembership !== 'join') return reject('member.invite.sender_not_joined', 'the inviter is not joined');
      if (targetMembership === 'join' || targetMembership === 'ban') return reject('member.invite.target_membership', `the invitee's membership is ${targetMembership}`);
      return senderLevel() >= getNamedPowerLevel(powerLevels, 'invite', rules) ? ALLOW : reject('member.invite.power', 'the inviter lacks the invite level');
    }
    case 'leave': {
      if (event.sender === target) {
        const canLeave = senderMembership === 'invite' || senderMembership === 'join' || (rules.knocking && senderMembership === 'knock');
        return canLeave ? ALLOW : reject('member.leave.membership', `a user cannot leave from membership ${senderMembership ?? 'none'}`);
      }
      if (senderMembership !== 'join') return reject('member.leave.sender_not_joined', 'the sender is not joined');
      const level = senderLevel();
      if (targetMembership === 'ban' && level < getNamedPowerLevel(powerLevels, 'ban', rules)) return reject('member.leave.unban_power', 'unbanning needs the ban level');
      if (level >= getNamedPowerLevel(powerLevels, 'kick', rules) && targetLevel() < level) return ALLOW;
      return reject('member.leave.kick_power', 'kicking needs the kick level and more power than the target');
    }
    case 'ban': {
      if (senderMembership !== 'join') return reject('member.ban.sender_not_joined', 'the sender is not joined');
      const level = senderLevel();
      if (level >= getNamedPowerLevel(powerLevels, 'ban', rules) && targetLevel() < level) return ALLOW;
      return reject('member.ban.power', 'banning needs the ban level and more power than the target');
    }
    case 'knock': {
      if (!rules.knocking) break;
      if (joinRule !== 'knock' && !(rules.knockRestrictedJoinRule && joinRule === 'knock_restricted')) {
        return reject('member.knock.join_rule', 'the join rule does not allow knocking');
      }
      if (event.sender !== target) return reject('member.knock.other_user', 'only the user may knock for themselves');
      if (senderMembership !== 'ban' && senderMembership !== 'invite' && senderMembership !== 'join') return ALLOW;
      return reject('member.knock.membership', `a user cannot knock from membership ${senderMembership}`);
    }
  }
  return reject('member.unknown', `unknown membership ${JSON.stringify(membership)}`);
}

/** Rule 5.4.1 (room version 12 numbering): an invite made from a third-party invite. */
function checkThirdPartyInvite(
  event: AuthEvent,
  thirdPartyInvite: JsonValue,
  targetMembership: string | undefined,
  state: AuthState,
  options: EventAuthOptions,
): AuthResult {
  if (targetMembership === 'ban') return reject('member.invite.third_party.banned', 'the invitee is banned');
  const signed = isJsonObject(thirdPartyInvite) ? own(thirdPartyInvite, 'signed') : undefined;
  if (!isJsonObject(signed)) return reject('member.invite.third_party.signed', 'third_party_invite has no signed object');
  const mxid = own(signed, 'mxid');
  const token = own(signed, 'token');
  if (typeof mxid !== 'string' || typeof token !== 'string') return reject('member.invite.third_party.signed', 'signed needs mxid and token');
  if (mxid !== event.state_key) return reject('member.invite.third_party.mxid', 'signed.mxid is not the invitee');
  const invite = state.get('m.room.third_party_invite', token);
  if (invite === undefined) return reject('member.invite.third_party.invite_event', 'no m.room.third_party_invite for the token');
  if (invite.sender !== event.sender) return reject('member.invite.third_party.sender', 'the sender did not make the third-party invite');
  if (options.backend !== undefined && verifyThirdPartyInviteSignature(signed, getThirdPartyInvitePublicKeys(invite.content), options.backend)) {
    return ALLOW;
  }
  return reject('member.invite.third_party.signature', 'no signature in signed matches a key of the third-party invite');
}
