/**
 * The spec's history visibility rules: whether a user may see a room event, from the
 * room's history visibility and the user's membership at the event.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#room-history-visibility
 */

/** What a user's view of a room depends on at one point of it. */
export interface VisibilityState {
  /** `world_readable`, `shared`, `invited` or `joined` (`shared` when unset or not understood). */
  readonly historyVisibility: string;
  /** The user's membership there (`leave` when they never had one). */
  readonly membership: string;
}

/** The parts of an event the rules read. */
export interface VisibilityEvent {
  readonly type?: unknown;
  readonly state_key?: unknown;
  readonly content?: unknown;
}

const KNOWN = new Set(['world_readable', 'shared', 'invited', 'joined']);

function contentField(event: VisibilityEvent, key: string): unknown {
  const content = event.content;
  return typeof content === 'object' && content !== null ? (content as Record<string, unknown>)[key] : undefined;
}

/** The visibility state after `event`, for `userId`. */
export function applyVisibilityEvent(state: VisibilityState, event: VisibilityEvent, userId: string): VisibilityState {
  if (event.type === 'm.room.history_visibility' && event.state_key === '') {
    const value = contentField(event, 'history_visibility');
    return { ...state, historyVisibility: typeof value === 'string' && KNOWN.has(value) ? value : 'shared' };
  }
  if (event.type === 'm.room.member' && event.state_key === userId) {
    const value = contentField(event, 'membership');
    return { ...state, membership: typeof value === 'string' ? value : 'leave' };
  }
  return state;
}

/** The visibility-relevant part of a room state (its state events) for `userId`. */
export function visibilityStateOf(state: Iterable<VisibilityEvent>, userId: string): VisibilityState {
  let current: VisibilityState = { historyVisibility: 'shared', membership: 'leave' };
  for (const event of state) current = applyVisibilityEvent(current, event, userId);
  return current;
}

/**
 * The spec's rules for whether a user may see an event, given the room's state at it.
 * `joinedLater` answers rule 3: did the user join the room at any point after the event.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#server-behaviour-7
 */
export function historyAllows(state: VisibilityState, joinedLater: boolean): boolean {
  if (state.historyVisibility === 'world_readable') return true;
  if (state.membership === 'join') return true;
  if (state.historyVisibility === 'shared' && joinedLater) return true;
  return state.membership === 'invite' && state.historyVisibility === 'invited';
}

/**
 * Walks a room's events in order, deciding for each whether the user may see it, from the
 * state before the first one: the history visibility and the user's membership are tracked
 * through the state events walked, so a page costs one state lookup rather than one per
 * event. A `m.room.history_visibility` event, and the user's own `m.room.member` events,
 * are visible when the state before *or* after them allows it. `lastJoin` is the position
 * of the user's latest join (`now` while joined, `undefined` if they never joined): rule 3
 * ("joined at any point after the event"). Positions are the caller's (stream orderings,
 * room sequences), compared as integers.
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

  /** Decides for the next event (at `position`), then moves past it. */
  next(event: VisibilityEvent, position: bigint): boolean {
    const before = this.state;
    const after = applyVisibilityEvent(before, event, this.userId);
    this.state = after;
    const joinedLater = this.lastJoin === 'now' || (this.lastJoin !== undefined && this.lastJoin >= position);
    if (historyAllows(before, joinedLater)) return true;
    const special = (event.type === 'm.room.history_visibility' && event.state_key === '') || (event.type === 'm.room.member' && event.state_key === this.userId);
    return special && historyAllows(after, joinedLater);
  }
}
