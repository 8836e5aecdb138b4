import type { AuthorizationRules, EventAuthOptions, StateKey } from '@axon/matrix-event-auth';
import { resolveStateV1 } from './state-res-v1';
import { resolveStateV2 } from './state-res-v2';
import type { StateResolutionRules } from './state-resolution-rules';
import type { StateResolutionSource } from './state-resolution-source';
import type { StateMap } from './state-sets';

/**
 * The rules of a room version that state resolution needs: its authorization rules and
 * its state resolution algorithm.
 * Spec: https://spec.matrix.org/v1.19/rooms/#complete-list-of-room-versions
 */
export interface StateResolutionRoomRules {
  readonly authorization: AuthorizationRules;
  readonly stateResolution: StateResolutionRules;
}

/**
 * The resolution of a set of room states (the states after each of an event's
 * `prev_events`) as one state map, by the room version's algorithm (v1, v2 or v2.1).
 * The result does not depend on the order of `stateSets`. Events come from `source`;
 * see `StateResolutionSource` for how unknown events are treated.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#state-resolution
 */
export function resolveState(
  stateSets: readonly StateMap[],
  rules: StateResolutionRoomRules,
  source: StateResolutionSource,
  options: EventAuthOptions,
): Promise<Map<StateKey, string>> {
  if (stateSets.length === 0) return Promise.resolve(new Map());
  return rules.stateResolution.algorithm === 'v1'
    ? resolveStateV1(stateSets, rules.authorization, source, options)
    : resolveStateV2(stateSets, rules, source, options);
}
