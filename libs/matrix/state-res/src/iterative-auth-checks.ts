import { checkEventAuth, formatStateKey, type AuthEvent, type AuthorizationRules, type AuthState, type EventAuthOptions, type StateKey } from '@axon/matrix-event-auth';
import type { AuthChainIndex } from './auth-chain';

/**
 * What the steps of state resolution v2 share: the loaded auth DAG, the room version's
 * authorization rules and the options of the authorization rules.
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#algorithm
 */
export interface ResolutionContext {
  readonly index: AuthChainIndex;
  readonly authorization: AuthorizationRules;
  readonly options: EventAuthOptions;
}

/**
 * From room version 12 the `m.room.create` event is never in `auth_events`: it is the
 * event whose ID the room ID is (`$x` for `!x`). This returns it for `event` when the
 * rules say so and it is indexed.
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export function roomCreateEventOf(event: AuthEvent, context: ResolutionContext): AuthEvent | undefined {
  if (!context.authorization.roomIdIsCreateEventId) return undefined;
  if (event.room_id === undefined) return event.type === 'm.room.create' ? event : undefined;
  if (!event.room_id.startsWith('!')) return undefined;
  return context.index.getEvent(`$${event.room_id.slice(1)}`);
}

/**
 * The event's auth events as a state, those the server rejected left out when
 * `skipRejected` (the iterative auth checks); from room version 12 with the room's create
 * event added.
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export function authEventsState(event: AuthEvent, context: ResolutionContext, skipRejected: boolean): AuthState {
  return {
    get: (type, stateKey) => {
      let found: AuthEvent | undefined;
      for (const authId of event.auth_events) {
        const authEvent = context.index.getEvent(authId);
        if (authEvent === undefined || (skipRejected && authEvent.rejected === true)) continue;
        if (authEvent.type === type && authEvent.state_key === stateKey) found = authEvent; // the last one wins
      }
      if (found === undefined && type === 'm.room.create' && stateKey === '') found = roomCreateEventOf(event, context);
      return found;
    },
  };
}

/**
 * The iterative auth checks: each state event of `eventIds` in turn is checked against
 * the authorization rules with the state built so far, the event's own (non-rejected)
 * auth events filling in any key the state lacks, and replaces its key in the state when
 * allowed; a disallowed event is ignored. Events rejected earlier against the state
 * before them are checked as usual. Events that are not indexed or not state events are
 * skipped. `state` is updated in place and returned.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export function iterativeAuthChecks(eventIds: readonly string[], state: Map<StateKey, string>, context: ResolutionContext): Map<StateKey, string> {
  for (const eventId of eventIds) {
    const event = context.index.getEvent(eventId);
    if (event === undefined || event.state_key === undefined) continue;
    const ownAuthEvents = authEventsState(event, context, true);
    const authState: AuthState = {
      get: (type, stateKey) => {
        const id = state.get(formatStateKey(type, stateKey));
        const current = id === undefined ? undefined : context.index.getEvent(id);
        return current ?? ownAuthEvents.get(type, stateKey);
      },
    };
    if (checkEventAuth(event, authState, context.authorization, context.options).ok) {
      state.set(formatStateKey(event.type, event.state_key), event.event_id);
    }
  }
  return state;
}
