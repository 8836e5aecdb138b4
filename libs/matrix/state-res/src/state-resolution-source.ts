import type { AuthEvent } from '@axon/matrix-event-auth';
import type { AuthChainIndex } from './auth-chain';

/**
 * An event as state resolution reads it: its `AuthEvent` fields and whether the server
 * rejected it. Only rejection matters here: "rejected auth events are deliberately
 * excluded from use in the iterative auth checks" (an event that was rejected against the
 * state before it is still re-checked as usual when it is itself being resolved).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#rejected-events
 */
export type StateResolutionEvent = AuthEvent & { readonly rejected?: boolean };

/**
 * Where state resolution gets events. Built for a store that answers in batches: every
 * call asks for many IDs at once (one call per level of the auth DAG while loading auth
 * chains), and an `AuthChainIndex` kept by the caller for the room makes later
 * resolutions fetch only events it has not indexed yet.
 *
 * Events the source does not return are treated as unknown, as other servers do: a
 * conflicted event that is unknown is left out of the conflicted set (a key whose events
 * are all unknown is dropped from the result); an unknown auth event is not an edge of
 * the auth DAG and is never used in an auth check; an unknown event in the unconflicted
 * state map stays in the result (it is copied by ID and never read). The source must
 * only return events of the room being resolved.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#state-resolution
 */
export interface StateResolutionSource {
  /** The events among `eventIds` that the source knows, by event ID. */
  getEvents(eventIds: readonly string[]): Promise<ReadonlyMap<string, StateResolutionEvent>>;
  /**
   * The room's auth chain index, reused and extended across resolutions. When absent
   * each resolution builds a fresh one.
   */
  readonly authChainIndex?: AuthChainIndex;
}

/**
 * A `StateResolutionSource` over events held in memory (tests, benches, events being
 * persisted).
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#state-resolution
 */
export function stateResolutionSourceFromEvents(events: Iterable<StateResolutionEvent>, authChainIndex?: AuthChainIndex): StateResolutionSource {
  const byId = new Map<string, StateResolutionEvent>();
  for (const event of events) byId.set(event.event_id, event);
  return {
    getEvents: (eventIds) => {
      const found = new Map<string, StateResolutionEvent>();
      for (const id of eventIds) {
        const event = byId.get(id);
        if (event !== undefined) found.set(id, event);
      }
      return Promise.resolve(found);
    },
    ...(authChainIndex === undefined ? {} : { authChainIndex }),
  };
}
