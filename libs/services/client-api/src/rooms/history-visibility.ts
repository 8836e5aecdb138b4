import type { RoomEvent } from '@axon/contracts-grpc';
import { historyAllows, visibilityStateOf as stateOf, VisibilityWalker as Walker, type VisibilityEvent, type VisibilityState } from '@axon/matrix-events';

/**
 * The room server's events through the history visibility rules of `@axon/matrix-events`
 * (positions are stream orderings).
 */
export type { VisibilityState } from '@axon/matrix-events';

function parse(event: RoomEvent): VisibilityEvent {
  return JSON.parse(event.pduJson) as VisibilityEvent;
}

/** The visibility-relevant part of a room state (a list of state events) for `userId`. */
export function visibilityStateOf(state: readonly RoomEvent[], userId: string): VisibilityState {
  return stateOf(state.map(parse), userId);
}

/** The spec's rules for whether a user may see an event, given the room's state at it. */
export function allows(state: VisibilityState, joinedLater: boolean): boolean {
  return historyAllows(state, joinedLater);
}

/** {@link Walker} over the room server's events, in stream order. */
export class VisibilityWalker {
  private readonly walker: Walker;

  constructor(initial: VisibilityState, userId: string, lastJoin: bigint | 'now' | undefined) {
    this.walker = new Walker(initial, userId, lastJoin);
  }

  /** Decides for the next event in stream order, then moves past it. */
  next(event: RoomEvent): boolean {
    return this.walker.next(parse(event), BigInt(event.streamOrdering));
  }
}
