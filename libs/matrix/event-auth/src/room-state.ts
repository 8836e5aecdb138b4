import type { JsonValue } from '@axon/matrix-canonical-json';
import { getUserIdServerName, parseHistoricalUserId } from '@axon/matrix-identifiers';
import type { AuthState } from './auth-event';

/**
 * A user's membership in a state (`join`, `invite`, `leave`, `ban`, `knock`, or whatever
 * string the event holds), `undefined` when the state has no membership for them (which
 * the rules treat like `leave`).
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroommember
 */
export function getMembership(state: AuthState, userId: string): string | undefined {
  const member = state.get('m.room.member', userId);
  const membership: JsonValue | undefined = member !== undefined && Object.hasOwn(member.content, 'membership') ? member.content['membership'] : undefined;
  return typeof membership === 'string' ? membership : undefined;
}

/**
 * The room's join rule in a state: `content.join_rule` of `m.room.join_rules`, or `invite`
 * when there is none. The spec names no default; `invite` is what deployed servers
 * assume, and the most restrictive rule that still lets invited users in.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroomjoin_rules
 */
export function getJoinRule(state: AuthState): string {
  const joinRules = state.get('m.room.join_rules', '');
  const rule: JsonValue | undefined = joinRules !== undefined && Object.hasOwn(joinRules.content, 'join_rule') ? joinRules.content['join_rule'] : undefined;
  return typeof rule === 'string' ? rule : 'invite';
}

/**
 * The server name of a user ID (historical grammar accepted), `undefined` when the string
 * is not a user ID.
 * Spec: https://spec.matrix.org/v1.19/appendices/#user-identifiers
 */
export function getUserServer(userId: string): string | undefined {
  const parsed = parseHistoricalUserId(userId);
  return parsed.ok ? getUserIdServerName(parsed.value) : undefined;
}
