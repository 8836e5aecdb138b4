import { createHash } from 'node:crypto';
import {
  authStateFromMap,
  checkEventAuth,
  formatStateKey,
  parseStateKey,
  type AuthEvent,
  type AuthorizationRules,
  type EventAuthOptions,
  type StateKey,
} from '@axon/matrix-event-auth';
import type { StateResolutionSource } from './state-resolution-source';
import { separateStateSetsV1, type StateMap } from './state-sets';

const POWER_LEVELS_KEY = formatStateKey('m.room.power_levels', '');

interface Candidate {
  readonly event: AuthEvent;
  readonly sha1: string;
}

function candidate(event: AuthEvent): Candidate {
  return { event, sha1: createHash('sha1').update(event.event_id, 'utf8').digest('hex') };
}

/** Ascending `depth`, then descending `sha1(event_id)` (then event ID, for totality). */
function byDepthThenSha1Descending(x: Candidate, y: Candidate): number {
  if (x.event.depth !== y.event.depth) return x.event.depth - y.event.depth;
  if (x.sha1 !== y.sha1) return x.sha1 > y.sha1 ? -1 : 1;
  return x.event.event_id < y.event.event_id ? -1 : x.event.event_id > y.event.event_id ? 1 : 0;
}

/**
 * One auth-event pass of state resolution v1 for one key: the events sorted by ascending
 * `depth` then descending `sha1(event_id)`; the first is taken, then each next one as
 * long as the authorization rules allow it in R with the previous one applied; the pass
 * stops at the first disallowed event. Returns the last event taken.
 */
function resolveAuthKey(candidates: Candidate[], key: StateKey, resolved: ReadonlyMap<StateKey, AuthEvent>, authorization: AuthorizationRules, options: EventAuthOptions): AuthEvent {
  const sorted = [...candidates].sort(byDepthThenSha1Descending);
  let taken = (sorted[0] as Candidate).event;
  const state = new Map(resolved);
  for (const next of sorted.slice(1)) {
    state.set(key, taken);
    if (!checkEventAuth(next.event, authStateFromMap(state), authorization, options).ok) break;
    taken = next.event;
  }
  return taken;
}

/**
 * The pass for all other keys: the event with the highest `depth` and lowest
 * `sha1(event_id)` that the authorization rules allow in R. When none is allowed the
 * spec says nothing; like Synapse this takes the last in that order (the lowest depth).
 */
function resolveOtherKey(candidates: Candidate[], resolved: ReadonlyMap<StateKey, AuthEvent>, authorization: AuthorizationRules, options: EventAuthOptions): AuthEvent {
  const sorted = [...candidates].sort(byDepthThenSha1Descending).reverse();
  const state = authStateFromMap(resolved);
  for (const next of sorted) if (checkEventAuth(next.event, state, authorization, options).ok) return next.event;
  return (sorted[sorted.length - 1] as Candidate).event;
}

/**
 * State resolution v1 (room version 1): R starts as the union of the state sets without
 * the conflicting keys; then the conflicted `m.room.power_levels`, then each conflicted
 * `m.room.join_rules` key, then each conflicted `m.room.member` key, then every other
 * conflicted key are resolved against R as it stands after the previous pass (keys of
 * one pass do not see each other's results, so the order of keys cannot matter).
 * Conflicting events the source does not know are left out; a key left with one event
 * takes it, a key left with none is dropped.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#state-resolution
 */
export async function resolveStateV1(
  stateSets: readonly StateMap[],
  authorization: AuthorizationRules,
  source: StateResolutionSource,
  options: EventAuthOptions,
): Promise<Map<StateKey, string>> {
  const { unconflicted, conflicted } = separateStateSetsV1(stateSets);
  if (conflicted.size === 0) return unconflicted;
  const ids = new Set<string>(unconflicted.values());
  for (const conflictedIds of conflicted.values()) for (const id of conflictedIds) ids.add(id);
  const events = await source.getEvents([...ids]);

  const result = new Map(unconflicted);
  const resolved = new Map<StateKey, AuthEvent>();
  for (const [key, id] of unconflicted) {
    const event = events.get(id);
    if (event !== undefined) resolved.set(key, event);
  }
  const passes: { readonly matches: (type: string, key: StateKey) => boolean; readonly auth: boolean }[] = [
    { matches: (_type, key) => key === POWER_LEVELS_KEY, auth: true },
    { matches: (type) => type === 'm.room.join_rules', auth: true },
    { matches: (type) => type === 'm.room.member', auth: true },
    { matches: () => true, auth: false },
  ];
  const pending = new Map<StateKey, Candidate[]>();
  for (const [key, conflictedIds] of conflicted) {
    const candidates = [...conflictedIds].flatMap((id) => {
      const event = events.get(id);
      return event === undefined ? [] : [candidate(event)];
    });
    if (candidates.length === 1) {
      const only = (candidates[0] as Candidate).event;
      result.set(key, only.event_id);
      resolved.set(key, only);
    } else if (candidates.length > 1) {
      pending.set(key, candidates);
    }
  }
  for (const pass of passes) {
    const decided = new Map<StateKey, AuthEvent>();
    for (const [key, candidates] of pending) {
      if (!pass.matches(parseStateKey(key)[0], key)) continue;
      decided.set(key, pass.auth ? resolveAuthKey(candidates, key, resolved, authorization, options) : resolveOtherKey(candidates, resolved, authorization, options));
    }
    for (const [key, event] of decided) {
      pending.delete(key);
      resolved.set(key, event);
      result.set(key, event.event_id);
    }
  }
  return result;
}
