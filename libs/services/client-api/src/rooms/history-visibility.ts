import type { RoomEvent } from '@axon/contracts-grpc';

/** What a user's view of a room depends on at one point of it. */
export interface VisibilityState {
  /** `world_readable`, `shared`, `invited` or `joined` (`shared` when unset or not understood). */
  readonly historyVisibility: string;
  /** The user's membership there (`leave` when they never had one). */
  readonly membership: string;
}

const KNOWN = new Set(['world_readable', 'shared', 'invited', 'joined']);

interface StateLike {
  type?: unknown;
  state_key?: unknown;
  content?: unknown;
}

function parse(event: RoomEvent): StateLike {
  return JSON.parse(event.pduJson) as StateLike;
}

function contentField(pdu: StateLike, key: string): unknown {
  const content = pdu.content;
  return typeof content === 'object' && content !== null ? (content as Record<string, unknown>)[key] : undefined;
}

/** The visibility-relevant part of a room state (a list of state events) for `userId`. */
export function visibilityStateOf(state: readonly RoomEvent[], userId: string): VisibilityState {
  let historyVisibility = 'shared';
  let membership = 'leave';
  for (const event of state) {
    const next = applyEvent({ historyVisibility, membership }, parse(event), userId);
    historyVisibility = next.historyVisibility;
    membership = next.membership;
  }
  return { historyVisibility, membership };
}

function applyEvent(state: VisibilityState, pdu: StateLike, userId: string): VisibilityState {
  if (pdu.type === 'm.room.history_visibility' && pdu.state_key === '') {
    const value = contentField(pdu, 'history_visibility');
    return { ...state, historyVisibility: typeof value === 'string' && KNOWN.has(value) ? value : 'shared' };
  }
  if (pdu.type === 'm.room.member' && pdu.state_key === userId) {
    const value = contentField(pdu, 'membership');
    return { ...state, membership: typeof value === 'string' ? value : 'leave' };
  }
  return state;
}

/**
 * The spec's rules for whether a user may see an event, given the room's state at it.
 * `joinedLater` answers rule 3: did the user join the room at any point after the event.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#server-behaviour-7
 */
export function allows(state: VisibilityState, joinedLater: boolean): boolean {
  if (state.historyVisibility === 'world_readable') return true;
  if (state.membership === 'join') return true;
  if (state.historyVisibility === 'shared' && joinedLater) return true;
  return state.membership === 'invite' && state.historyVisibility === 'invited';
}

/**
 * Walks a room's events in stream order, deciding for each whether the user may see it,
 * from the state before the first one: the history visibility and the user's membership
 * are tracked through the state events walked, so a page costs one state lookup rather
 * than one per event. A `m.room.history_visibility` event, and the user's own
 * `m.room.member` events, are visible when the state before *or* after them allows it.
 * `lastJoin` is the stream position of the user's latest join (`Infinity` while joined,
 * `undefined` if they never joined): rule 3 ("joined at any point after the event").
 */
export class VisibilityWalker {
  private state: VisibilityState;

  constructor(
    initial: VisibilityState,
    private readonly userId: string,
    private readonly lastJoin: bigint | 'now' | undefined,
  ) {
    this.state = initial;
  }

  /** Decides for the next event in stream order, then moves past it. */
  next(event: RoomEvent): boolean {
    const pdu = parse(event);
    const before = this.state;
    const after = applyEvent(before, pdu, this.userId);
    this.state = after;
    const joinedLater = this.lastJoin === 'now' || (this.lastJoin !== undefined && this.lastJoin >= BigInt(event.streamOrdering));
    if (allows(before, joinedLater)) return true;
    const special = (pdu.type === 'm.room.history_visibility' && pdu.state_key === '') || (pdu.type === 'm.room.member' && pdu.state_key === this.userId);
    return special && allows(after, joinedLater);
  }
}
