import type { AuthEvent } from '@axon/matrix-event-auth';
import type { AuthChainIndex } from './auth-chain';

/** The `m.room.power_levels` event (empty state key) among an event's indexed auth events. */
function powerLevelsAuthEvent(event: AuthEvent, index: AuthChainIndex): AuthEvent | undefined {
  for (const authId of event.auth_events) {
    const authEvent = index.getEvent(authId);
    if (authEvent !== undefined && authEvent.type === 'm.room.power_levels' && authEvent.state_key === '') return authEvent;
  }
  return undefined;
}

/**
 * The mainline of a power levels event P₀: [P₀, P₁, …, Pₙ], each Pᵢ₊₁ the power levels
 * event in the `auth_events` of Pᵢ. Returned as event ID → index i.
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export function mainlineOf(powerLevelsId: string | undefined, index: AuthChainIndex): Map<string, number> {
  const mainline = new Map<string, number>();
  let current = powerLevelsId === undefined ? undefined : index.getEvent(powerLevelsId);
  while (current !== undefined && !mainline.has(current.event_id)) {
    mainline.set(current.event_id, mainline.size);
    current = powerLevelsAuthEvent(current, index);
  }
  return mainline;
}

/**
 * The mainline ordering based on P of indexed events, smallest first: greater mainline
 * position first (an event whose chain of power levels auth events meets the mainline
 * of P at an earlier event; `Infinity` when it never does, so those come first), then
 * smaller `origin_server_ts`, then smaller event ID. The position of e is that of the
 * first of e₁, e₂, … (e₀ = e itself excluded) on the mainline; positions are memoised
 * along each walk.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export function mainlineOrdering(eventIds: readonly string[], powerLevelsId: string | undefined, index: AuthChainIndex): string[] {
  const mainline = mainlineOf(powerLevelsId, index);
  // Position of the first mainline event found walking from (and including) an event.
  const memo = new Map<string, number>(mainline);
  const positionFrom = (start: AuthEvent | undefined): number => {
    const walked: string[] = [];
    let position = Infinity;
    for (let current = start; current !== undefined; current = powerLevelsAuthEvent(current, index)) {
      const known = memo.get(current.event_id);
      if (known !== undefined) {
        position = known;
        break;
      }
      if (walked.includes(current.event_id)) break;
      walked.push(current.event_id);
    }
    for (const id of walked) memo.set(id, position);
    return position;
  };
  const keyed = [];
  for (const id of eventIds) {
    const event = index.getEvent(id);
    if (event === undefined) continue;
    keyed.push({ id, position: positionFrom(powerLevelsAuthEvent(event, index)), ts: event.origin_server_ts });
  }
  keyed.sort((x, y) => {
    if (x.position !== y.position) return x.position > y.position ? -1 : 1;
    if (x.ts !== y.ts) return x.ts < y.ts ? -1 : 1;
    return x.id < y.id ? -1 : x.id > y.id ? 1 : 0;
  });
  return keyed.map((entry) => entry.id);
}
