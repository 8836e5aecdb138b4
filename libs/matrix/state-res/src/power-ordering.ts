import { getUserPowerLevel, type AuthEvent } from '@axon/matrix-event-auth';
import { authEventsState, type ResolutionContext } from './iterative-auth-checks';

/**
 * A power event: a state event that might remove someone's ability to do something —
 * `m.room.power_levels` or `m.room.join_rules` (with the empty state key, the only one
 * the authorization rules read, as Synapse, ruma and Dendrite read it), or an
 * `m.room.member` with membership `leave` or `ban` whose `sender` is not its `state_key`
 * (a kick or a ban). `m.room.create` is not one: the spec does not list it (Synapse and
 * ruma also count it; it only matters when the create event itself is conflicted).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export function isPowerEvent(event: AuthEvent): boolean {
  if (event.state_key === undefined) return false;
  if (event.type === 'm.room.power_levels' || event.type === 'm.room.join_rules') return event.state_key === '';
  if (event.type !== 'm.room.member') return false;
  const membership = event.content['membership'];
  return (membership === 'leave' || membership === 'ban') && event.sender !== event.state_key;
}

interface Vertex {
  readonly position: number;
  readonly id: string;
  readonly power: number;
  readonly ts: number;
}

/** x < y: greater sender power level, then smaller `origin_server_ts`, then event ID. */
function powerOrder(x: Vertex, y: Vertex): number {
  if (x.power !== y.power) return x.power > y.power ? -1 : 1;
  if (x.ts !== y.ts) return x.ts < y.ts ? -1 : 1;
  return x.id < y.id ? -1 : x.id > y.id ? 1 : 0;
}

/** A binary min-heap under `powerOrder`: Kahn's candidate set. */
class CandidateHeap {
  private readonly items: Vertex[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: Vertex): void {
    const items = this.items;
    items.push(item);
    let child = items.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (powerOrder(items[child] as Vertex, items[parent] as Vertex) >= 0) break;
      [items[child], items[parent]] = [items[parent] as Vertex, items[child] as Vertex];
      child = parent;
    }
  }

  pop(): Vertex {
    const items = this.items;
    const top = items[0] as Vertex;
    const last = items.pop() as Vertex;
    if (items.length > 0) {
      items[0] = last;
      let parent = 0;
      for (;;) {
        const left = parent * 2 + 1;
        const right = left + 1;
        let smallest = parent;
        if (left < items.length && powerOrder(items[left] as Vertex, items[smallest] as Vertex) < 0) smallest = left;
        if (right < items.length && powerOrder(items[right] as Vertex, items[smallest] as Vertex) < 0) smallest = right;
        if (smallest === parent) break;
        [items[smallest], items[parent]] = [items[parent] as Vertex, items[smallest] as Vertex];
        parent = smallest;
      }
    }
    return top;
  }
}

/**
 * The sender's power level "when looking at their respective `auth_event`s": the
 * level the event's auth events give (from room version 12, infinite for a creator).
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export function senderPowerLevel(event: AuthEvent, context: ResolutionContext): number {
  return getUserPowerLevel(event.sender, authEventsState(event, context, false), context.authorization);
}

/**
 * The reverse topological power ordering of indexed events: the lexicographically
 * smallest topological ordering (earliest first) of the DAG the auth events form on
 * them, found with Kahn's algorithm taking at each step the smallest candidate by
 * sender power level (greater first), then `origin_server_ts`, then event ID. The DAG is
 * the one the `auth_events` edges between events of the set form: an event comes after
 * the events of the set it cites, not after those it reaches only through events outside
 * the set (as Synapse and ruma build the graph, so that servers agree).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export function reverseTopologicalPowerOrdering(eventIds: Iterable<string>, context: ResolutionContext): string[] {
  const { index } = context;
  const members = new Map<number, Vertex>();
  for (const id of eventIds) {
    const position = index.positionOf(id);
    if (position === undefined || members.has(position)) continue;
    const event = index.eventAt(position);
    members.set(position, { position, id, power: senderPowerLevel(event, context), ts: event.origin_server_ts });
  }
  const waiting = new Map<number, number>();
  const dependants = new Map<number, number[]>();
  for (const position of members.keys()) {
    let count = 0;
    for (const ancestor of new Set(index.parentsAt(position))) {
      if (!members.has(ancestor)) continue;
      count++;
      let list = dependants.get(ancestor);
      if (list === undefined) dependants.set(ancestor, (list = []));
      list.push(position);
    }
    waiting.set(position, count);
  }
  const candidates = new CandidateHeap();
  for (const [position, count] of waiting) if (count === 0) candidates.push(members.get(position) as Vertex);
  const ordered: string[] = [];
  while (candidates.size > 0) {
    const vertex = candidates.pop();
    ordered.push(vertex.id);
    for (const dependant of dependants.get(vertex.position) ?? []) {
      const left = (waiting.get(dependant) as number) - 1;
      waiting.set(dependant, left);
      if (left === 0) candidates.push(members.get(dependant) as Vertex);
    }
  }
  return ordered;
}
