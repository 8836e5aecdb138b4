import type { Brand } from '@axon/matrix-identifiers';

/**
 * The key of a room state map: an event `type` and `state_key` pair, encoded so that two
 * different pairs never share a key (both strings may hold any character).
 *
 * Spec: https://spec.matrix.org/v1.19/#room-structure
 */
export type StateKey = Brand<string, 'StateKey'>;

/**
 * The state map key of (`type`, `state_key`).
 * Spec: https://spec.matrix.org/v1.19/#room-structure
 */
export function formatStateKey(type: string, stateKey: string): StateKey {
  return JSON.stringify([type, stateKey]) as StateKey;
}

/**
 * The (`type`, `state_key`) pair of a state map key made by `formatStateKey`.
 * Spec: https://spec.matrix.org/v1.19/#room-structure
 */
export function parseStateKey(key: StateKey): readonly [type: string, stateKey: string] {
  return JSON.parse(key) as [string, string];
}
