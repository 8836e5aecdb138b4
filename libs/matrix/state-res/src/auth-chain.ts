import type { StateResolutionEvent, StateResolutionSource } from './state-resolution-source';

/**
 * An in-memory index of a room's auth DAG that answers the auth chain questions of state
 * resolution without walking the graph again.
 *
 * Design. Every indexed event gets a dense position, assigned in topological order: an
 * event is only added after all of its known auth events, so every auth event (and so
 * every event of its auth chain) has a smaller position. Each event keeps
 *
 * - `parents`: the positions of its known auth events, and
 * - `chains`: its full auth chain as a sorted `Int32Array` of positions, computed once
 *   when the event is added from its parents' chains (an event with one auth event shares
 *   nothing but copies that chain plus one entry, which is already sorted because the
 *   parent's position is the largest; otherwise the parents' chains are merged with a
 *   generation-stamped marker array and sorted).
 *
 * Auth chains of real rooms are small (create, the power levels history, the join rules,
 * the sender's and target's membership history) even when the room has 100,000 members,
 * so this is a few dozen integers per event. Questions are then answered with flat
 * arrays indexed by position:
 *
 * - auth difference: one marker array for the auth chains every state set shares (those
 *   of the unconflicted state), and one counter per event for the rest;
 * - the conflicted state subgraph: the union of the conflicted events' auth chains,
 *   scanned once in position (topological) order to find which of them reach a
 *   conflicted event;
 * - "is `a` in the auth chain of `b`": a binary search in `b`'s chain.
 *
 * The index only grows: a room server keeps one per room (pass it as
 * `StateResolutionSource.authChainIndex`) and later resolutions fetch only new events.
 * An auth event the source does not know is not an edge: events added while it was
 * unknown keep auth chains without it.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
 */
export class AuthChainIndex {
  private readonly ids: string[] = [];
  private readonly positions = new Map<string, number>();
  private readonly events: StateResolutionEvent[] = [];
  private readonly parents: Int32Array[] = [];
  private readonly chains: Int32Array[] = [];
  private stamps = new Uint32Array(1024);
  private generation = 0;

  /** How many events are indexed. */
  get size(): number {
    return this.ids.length;
  }

  /** Whether the event is indexed. */
  has(eventId: string): boolean {
    return this.positions.has(eventId);
  }

  /** An indexed event. */
  getEvent(eventId: string): StateResolutionEvent | undefined {
    const position = this.positions.get(eventId);
    return position === undefined ? undefined : this.events[position];
  }

  /** An event's position (topological: smaller than those of every event citing it). */
  positionOf(eventId: string): number | undefined {
    return this.positions.get(eventId);
  }

  /** The event ID at a position. */
  idAt(position: number): string {
    return this.ids[position] as string;
  }

  /** The event at a position. */
  eventAt(position: number): StateResolutionEvent {
    return this.events[position] as StateResolutionEvent;
  }

  /** The positions of the indexed auth events of the event at a position (do not modify). */
  parentsAt(position: number): Int32Array {
    return this.parents[position] as Int32Array;
  }

  /** The auth chain at a position, as sorted positions (do not modify). */
  chainAt(position: number): Int32Array {
    return this.chains[position] as Int32Array;
  }

  /**
   * The auth chain of an indexed event: its auth events, theirs, and so on (the event
   * itself excluded); `undefined` for an event not indexed.
   * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
   */
  authChain(eventId: string): string[] | undefined {
    const position = this.positions.get(eventId);
    if (position === undefined) return undefined;
    return Array.from(this.chainAt(position), (p) => this.idAt(p));
  }

  /** Whether `ancestorId` is in the auth chain of `eventId` (both indexed). */
  isInAuthChain(ancestorId: string, eventId: string): boolean {
    const ancestor = this.positions.get(ancestorId);
    const event = this.positions.get(eventId);
    if (ancestor === undefined || event === undefined || ancestor >= event) return false;
    const chain = this.chainAt(event);
    let low = 0;
    let high = chain.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = chain[middle] as number;
      if (value === ancestor) return true;
      if (value < ancestor) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }

  /**
   * Indexes `eventIds` and their whole auth chains, asking the source for the events not
   * yet indexed in one batch per level of the auth DAG.
   * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
   */
  async load(eventIds: Iterable<string>, source: StateResolutionSource): Promise<void> {
    const asked = new Set<string>();
    let frontier: string[] = [];
    for (const id of eventIds) {
      if (!this.positions.has(id) && !asked.has(id)) {
        asked.add(id);
        frontier.push(id);
      }
    }
    const fetched: StateResolutionEvent[] = [];
    while (frontier.length > 0) {
      const found = await source.getEvents(frontier);
      const next: string[] = [];
      for (const id of frontier) {
        const event = found.get(id);
        if (event === undefined || event.event_id !== id) continue;
        fetched.push(event);
        for (const authId of event.auth_events) {
          if (!this.positions.has(authId) && !asked.has(authId)) {
            asked.add(authId);
            next.push(authId);
          }
        }
      }
      frontier = next;
    }
    this.add(fetched);
  }

  /**
   * Indexes events, in any order: each is added after those of its auth events that are
   * indexed or among `events`; other auth events are unknown and not edges.
   * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
   */
  add(events: Iterable<StateResolutionEvent>): void {
    const pending = new Map<string, StateResolutionEvent>();
    for (const event of events) if (!this.positions.has(event.event_id)) pending.set(event.event_id, event);
    const visiting = new Set<string>();
    // Iterative depth-first post-order, so deep auth DAGs cannot overflow the stack.
    for (const root of pending.values()) {
      if (this.positions.has(root.event_id)) continue;
      const stack: { event: StateResolutionEvent; next: number }[] = [{ event: root, next: 0 }];
      visiting.add(root.event_id);
      while (stack.length > 0) {
        const top = stack[stack.length - 1] as { event: StateResolutionEvent; next: number };
        if (top.next < top.event.auth_events.length) {
          const authId = top.event.auth_events[top.next++] as string;
          if (this.positions.has(authId) || visiting.has(authId)) continue; // a cycle is not an edge
          const authEvent = pending.get(authId);
          if (authEvent !== undefined) {
            visiting.add(authId);
            stack.push({ event: authEvent, next: 0 });
          }
        } else {
          stack.pop();
          visiting.delete(top.event.event_id);
          this.insert(top.event);
        }
      }
    }
  }

  private nextGeneration(): number {
    if (this.stamps.length < this.ids.length + 1) {
      const grown = new Uint32Array(Math.max(this.stamps.length * 2, this.ids.length + 1));
      grown.set(this.stamps);
      this.stamps = grown;
    }
    this.generation = (this.generation + 1) >>> 0;
    if (this.generation === 0) {
      this.stamps.fill(0);
      this.generation = 1;
    }
    return this.generation;
  }

  private insert(event: StateResolutionEvent): void {
    const parentList: number[] = [];
    for (const authId of event.auth_events) {
      const position = this.positions.get(authId);
      if (position !== undefined && !parentList.includes(position)) parentList.push(position);
    }
    let chain: Int32Array;
    if (parentList.length === 0) {
      chain = new Int32Array(0);
    } else if (parentList.length === 1) {
      const parent = parentList[0] as number;
      const parentChain = this.chainAt(parent);
      chain = new Int32Array(parentChain.length + 1);
      chain.set(parentChain);
      chain[parentChain.length] = parent;
    } else {
      const generation = this.nextGeneration();
      const stamps = this.stamps;
      const merged: number[] = [];
      for (const parent of parentList) {
        if (stamps[parent] !== generation) {
          stamps[parent] = generation;
          merged.push(parent);
        }
        for (const ancestor of this.chainAt(parent)) {
          if (stamps[ancestor] !== generation) {
            stamps[ancestor] = generation;
            merged.push(ancestor);
          }
        }
      }
      chain = Int32Array.from(merged).sort();
    }
    const position = this.ids.length;
    this.ids.push(event.event_id);
    this.positions.set(event.event_id, position);
    this.events.push(event);
    this.parents.push(Int32Array.from(parentList));
    this.chains.push(chain);
  }

  /**
   * The auth difference ∪Cᵢ − ∩Cᵢ of state sets Sᵢ, where Cᵢ is the union of the auth
   * chains of the events of Sᵢ. Because the events every state set holds (the
   * unconflicted state) contribute the same chains to every Cᵢ, they are passed once as
   * `common` and each state set only lists its other events in `others[i]`; then
   * ∪Cᵢ − ∩Cᵢ = ∪Dᵢ − ∩Dᵢ − U for U the chains of `common` and Dᵢ those of `others[i]`.
   * Events that are not indexed contribute nothing.
   *
   * Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
   */
  authDifference(others: readonly (readonly string[])[], common: Iterable<string>): Set<string> {
    const size = this.ids.length;
    const shared = new Uint8Array(size);
    for (const id of common) {
      const position = this.positions.get(id);
      if (position === undefined) continue;
      for (const ancestor of this.chainAt(position)) shared[ancestor] = 1;
    }
    const counts = new Uint32Array(size);
    const touched: number[] = [];
    for (const set of others) {
      const generation = this.nextGeneration();
      const stamps = this.stamps;
      for (const id of set) {
        const position = this.positions.get(id);
        if (position === undefined) continue;
        for (const ancestor of this.chainAt(position)) {
          if (stamps[ancestor] === generation) continue;
          stamps[ancestor] = generation;
          if (shared[ancestor] === 1) continue;
          if (counts[ancestor] === 0) touched.push(ancestor);
          counts[ancestor] = (counts[ancestor] as number) + 1;
        }
      }
    }
    const difference = new Set<string>();
    for (const position of touched) if ((counts[position] as number) < others.length) difference.add(this.idAt(position));
    return difference;
  }

  /**
   * The conflicted state subgraph: every event on an `auth_events` path from one event of
   * `conflicted` to another, endpoints included (so every indexed conflicted event). An
   * event is on such a path when it is in the auth chain of a conflicted event and a
   * conflicted event is itself or in its auth chain.
   *
   * Spec: https://spec.matrix.org/v1.19/rooms/v12/#definitions
   */
  conflictedStateSubgraph(conflicted: Iterable<string>): Set<string> {
    const size = this.ids.length;
    const isConflicted = new Uint8Array(size);
    const candidate = new Uint8Array(size);
    const candidates: number[] = [];
    const mark = (position: number): void => {
      if (candidate[position] === 1) return;
      candidate[position] = 1;
      candidates.push(position);
    };
    for (const id of conflicted) {
      const position = this.positions.get(id);
      if (position === undefined) continue;
      isConflicted[position] = 1;
      mark(position);
      for (const ancestor of this.chainAt(position)) mark(ancestor);
    }
    candidates.sort((a, b) => a - b);
    // In position order every auth event is decided before the events citing it.
    const reaches = new Uint8Array(size);
    const subgraph = new Set<string>();
    for (const position of candidates) {
      let found = isConflicted[position] === 1;
      if (!found) {
        for (const parent of this.parents[position] ?? []) {
          if (reaches[parent] === 1) {
            found = true;
            break;
          }
        }
      }
      if (found) {
        reaches[position] = 1;
        subgraph.add(this.idAt(position));
      }
    }
    return subgraph;
  }
}
