import type { StateKey } from '@axon/matrix-event-auth';

/**
 * A room state by (`type`, `state_key`): event IDs keyed by `formatStateKey`.
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export type StateMap = ReadonlyMap<StateKey, string>;

/**
 * State sets split into what every set agrees on and what they do not.
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export interface SeparatedState {
  /** The unconflicted state map. */
  readonly unconflicted: Map<StateKey, string>;
  /** The conflicted state set, grouped by key. */
  readonly conflicted: Map<StateKey, Set<string>>;
}

/**
 * State resolution v2's split: a key is unconflicted when every state set holds it with
 * the same event; otherwise each of its events is in the conflicted state set (a key
 * missing from some state set is conflicted).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export function separateStateSetsV2(stateSets: readonly StateMap[]): SeparatedState {
  const unconflicted = new Map<StateKey, string>();
  const conflicted = new Map<StateKey, Set<string>>();
  const [first, ...rest] = stateSets;
  if (first === undefined) return { unconflicted, conflicted };
  const collect = (key: StateKey): Set<string> => {
    const ids = new Set<string>();
    for (const stateSet of stateSets) {
      const id = stateSet.get(key);
      if (id !== undefined) ids.add(id);
    }
    return ids;
  };
  // Every unconflicted key is in the first set. Each other set is walked in its own
  // (insertion) order and looked up in one map of the first set's keys, counting per key
  // how many sets agree: one hot map instead of random reads into every set.
  const positions = new Map<StateKey, number>();
  const firstIds: string[] = [];
  for (const [key, id] of first) {
    positions.set(key, firstIds.length);
    firstIds.push(id);
  }
  const agreeing = new Uint32Array(firstIds.length);
  const extraKeys = new Set<StateKey>();
  for (const stateSet of rest) {
    for (const [key, id] of stateSet) {
      const position = positions.get(key);
      if (position === undefined) extraKeys.add(key);
      else if (firstIds[position] === id) agreeing[position] = (agreeing[position] as number) + 1;
    }
  }
  let position = 0;
  for (const [key, id] of first) {
    if (agreeing[position++] === rest.length) unconflicted.set(key, id);
    else conflicted.set(key, collect(key));
  }
  for (const key of extraKeys) conflicted.set(key, collect(key));
  return { unconflicted, conflicted };
}

/**
 * State resolution v1's split: a key is conflicted only when state sets hold different
 * events for it; a key some sets lack is unconflicted ("the union of the states to be
 * resolved, excluding any conflicting events").
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#state-resolution
 */
export function separateStateSetsV1(stateSets: readonly StateMap[]): SeparatedState {
  const values = new Map<StateKey, Set<string>>();
  for (const stateSet of stateSets) {
    for (const [key, id] of stateSet) {
      let ids = values.get(key);
      if (ids === undefined) values.set(key, (ids = new Set()));
      ids.add(id);
    }
  }
  const unconflicted = new Map<StateKey, string>();
  const conflicted = new Map<StateKey, Set<string>>();
  for (const [key, ids] of values) {
    if (ids.size === 1) unconflicted.set(key, ids.values().next().value as string);
    else conflicted.set(key, ids);
  }
  return { unconflicted, conflicted };
}
