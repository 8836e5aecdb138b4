import { formatStateKey, type AuthorizationRules, type EventAuthOptions, type StateKey } from '@axon/matrix-event-auth';
import { AuthChainIndex } from './auth-chain';
import { iterativeAuthChecks, type ResolutionContext } from './iterative-auth-checks';
import { mainlineOrdering } from './mainline';
import { isPowerEvent, reverseTopologicalPowerOrdering } from './power-ordering';
import type { StateResolutionRules } from './state-resolution-rules';
import type { StateResolutionSource } from './state-resolution-source';
import { separateStateSetsV2, type StateMap } from './state-sets';

const POWER_LEVELS_KEY = formatStateKey('m.room.power_levels', '');

/**
 * The room version 12 create event IDs (`$x` for room `!x`) of the rooms the given
 * indexed events name, for rules where the create event is never an auth event.
 */
function createEventIds(eventIds: Iterable<string>, index: AuthChainIndex): Set<string> {
  const ids = new Set<string>();
  for (const id of eventIds) {
    const roomId = index.getEvent(id)?.room_id;
    if (roomId !== undefined && roomId.startsWith('!') && !roomId.includes(':')) ids.add(`$${roomId.slice(1)}`);
  }
  return ids;
}

/**
 * The full conflicted set: the conflicted state set, the auth difference and (state
 * resolution v2.1) the conflicted state subgraph, limited to indexed state events.
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#definitions
 */
export function fullConflictedSet(
  stateSets: readonly StateMap[],
  unconflicted: ReadonlyMap<StateKey, string>,
  conflicted: ReadonlyMap<StateKey, ReadonlySet<string>>,
  index: AuthChainIndex,
  rules: StateResolutionRules,
): Set<string> {
  const conflictedIds = new Set<string>();
  for (const ids of conflicted.values()) for (const id of ids) conflictedIds.add(id);
  const others = stateSets.map((stateSet) => {
    const ids: string[] = [];
    for (const key of conflicted.keys()) {
      const id = stateSet.get(key);
      if (id !== undefined) ids.push(id);
    }
    return ids;
  });
  const full = new Set(conflictedIds);
  for (const id of index.authDifference(others, unconflicted.values())) full.add(id);
  if (rules.considerConflictedStateSubgraph) for (const id of index.conflictedStateSubgraph(conflictedIds)) full.add(id);
  for (const id of full) if (index.getEvent(id)?.state_key === undefined) full.delete(id);
  return full;
}

/**
 * State resolution v2 (room versions 2 to 11) and v2.1 (room version 12):
 *
 * 1. the power events of the full conflicted set, with the events of their auth chains
 *    in that set, in reverse topological power ordering;
 * 2. the iterative auth checks of those from the unconflicted state map (v2.1: from an
 *    empty state map);
 * 3. the rest of the full conflicted set in mainline ordering based on the power levels
 *    event of that partial state;
 * 4. the iterative auth checks of those on the partial state;
 * 5. the unconflicted state map copied over the result.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#algorithm
 */
export async function resolveStateV2(
  stateSets: readonly StateMap[],
  rules: { readonly authorization: AuthorizationRules; readonly stateResolution: StateResolutionRules },
  source: StateResolutionSource,
  options: EventAuthOptions,
): Promise<Map<StateKey, string>> {
  const { unconflicted, conflicted } = separateStateSetsV2(stateSets);
  if (conflicted.size === 0) return unconflicted;

  const index = source.authChainIndex ?? new AuthChainIndex();
  // Every event of the state sets: the unconflicted ones once, then the conflicted ones.
  const stateIds = new Set<string>(unconflicted.values());
  for (const ids of conflicted.values()) for (const id of ids) stateIds.add(id);
  await index.load(stateIds, source);
  if (rules.authorization.roomIdIsCreateEventId) {
    const conflictedIds = [...conflicted.values()].flatMap((ids) => [...ids]);
    await index.load(createEventIds(conflictedIds, index), source);
  }
  const context: ResolutionContext = { index, authorization: rules.authorization, options };
  const full = fullConflictedSet(stateSets, unconflicted, conflicted, index, rules.stateResolution);

  // Step 1: the power events and the events of their auth chains in the full conflicted set.
  const selected = new Set<string>();
  for (const id of full) {
    const position = index.positionOf(id) as number;
    if (!isPowerEvent(index.eventAt(position))) continue;
    selected.add(id);
    for (const ancestor of index.chainAt(position)) {
      const ancestorId = index.idAt(ancestor);
      if (full.has(ancestorId)) selected.add(ancestorId);
    }
  }
  const powerOrdered = reverseTopologicalPowerOrdering(selected, context);

  // Step 2.
  const initial = rules.stateResolution.beginIterativeAuthChecksWithEmptyState ? new Map<StateKey, string>() : new Map(unconflicted);
  const partial = iterativeAuthChecks(powerOrdered, initial, context);

  // Steps 3 and 4.
  const remaining = [...full].filter((id) => !selected.has(id));
  const resolved = iterativeAuthChecks(mainlineOrdering(remaining, partial.get(POWER_LEVELS_KEY), index), partial, context);

  // Step 5.
  for (const [key, id] of unconflicted) resolved.set(key, id);
  return resolved;
}
