/**
 * The state resolution algorithm of a room version, as plain data. The room-versions
 * library maps each room version to one of the `STATE_RES_*` constants; the algorithms
 * here take these rules, never a version.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/#complete-list-of-room-versions
 */
export interface StateResolutionRules {
  /**
   * `v1`: the passes over power levels, join rules, members and the rest, ordered by
   * `depth` and `sha1(event_id)` (room version 1).
   * Spec: https://spec.matrix.org/v1.19/rooms/v1/#state-resolution
   *
   * `v2`: the power-event ordering, iterative auth checks and mainline ordering
   * (introduced in room version 2, used up to and including v12).
   * Spec: https://spec.matrix.org/v1.19/rooms/v2/#state-resolution
   */
  readonly algorithm: 'v1' | 'v2';
  /**
   * Step 2 of the v2 algorithm starts the iterative auth checks from an empty state map
   * instead of the unconflicted state map (state resolution v2.1, introduced in room
   * version 12). Only read when `algorithm` is `v2`.
   * Spec: https://spec.matrix.org/v1.19/rooms/v12/#state-resolution
   */
  readonly beginIterativeAuthChecksWithEmptyState: boolean;
  /**
   * The full conflicted set also holds the conflicted state subgraph: the events on
   * `auth_events` paths between two events of the conflicted state set (state
   * resolution v2.1, introduced in room version 12). Only read when `algorithm` is `v2`.
   * Spec: https://spec.matrix.org/v1.19/rooms/v12/#definitions
   */
  readonly considerConflictedStateSubgraph: boolean;
}

/**
 * Room version 1.
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#state-resolution
 */
export const STATE_RES_V1: StateResolutionRules = {
  algorithm: 'v1',
  beginIterativeAuthChecksWithEmptyState: false,
  considerConflictedStateSubgraph: false,
};

/**
 * Room versions 2 to 11.
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#state-resolution
 */
export const STATE_RES_V2: StateResolutionRules = {
  algorithm: 'v2',
  beginIterativeAuthChecksWithEmptyState: false,
  considerConflictedStateSubgraph: false,
};

/**
 * Room version 12 (state resolution v2.1).
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#state-resolution
 */
export const STATE_RES_V2_1: StateResolutionRules = {
  algorithm: 'v2',
  beginIterativeAuthChecksWithEmptyState: true,
  considerConflictedStateSubgraph: true,
};
