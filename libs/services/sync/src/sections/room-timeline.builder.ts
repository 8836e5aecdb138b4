import { VisibilityWalker, visibilityStateOf, type VisibilityEvent } from '@axon/matrix-events';
import { roomEventFilterAllows, type RoomEventFilter } from '@axon/matrix-filters';
import type { RoomId } from '@axon/matrix-identifiers';
import type { PartitionWindow, RoomEventsRepository, SyncEvent } from '../storage/room-events.repository';
import type { PublicOf } from '../storage/sync-repositories';
import type { EventFormatter } from './event-formatter';
import type { Json, SyncRequest, SyncWindow } from './sync-window';

const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 1000;

/**
 * Which events of a room one sync covers, and how visible history is. A room's events are
 * in one partition of `hs.room.output.v1` until its partition count is raised, and from
 * then on in the partition the new count gives the room: `windows` has one entry per
 * partition holding any of the room's events, ordered by the room's own sequence.
 */
export interface TimelineRange {
  readonly roomId: RoomId;
  readonly windows: readonly PartitionWindow[];
  /** Only events before this room sequence (a left room's: up to the leave). */
  readonly beforeSeq?: number;
  /** All the state before the timeline (initial, full or newly joined), not only its changes. */
  readonly full: boolean;
  /** The user's latest join, `now` while joined: what history visibility is decided against. */
  readonly lastJoin: bigint | 'now' | undefined;
}

/** A room's `timeline` and `state` for one sync. */
export class RoomTimelineBuilder {
  constructor(
    private readonly roomEvents: PublicOf<RoomEventsRepository>,
    private readonly formatter: EventFormatter,
  ) {}

  /**
   * The newest events of the range that the timeline filter lets through (`limited` when
   * more were there), and the state: all of it before the timeline on a full sync, the
   * changes in the gap on a limited incremental one, none otherwise; through the state
   * filter, and with `lazy_load_members` only the membership of the timeline's senders. The
   * timeline holds only events the room's history visibility lets the user see.
   */
  async build(request: SyncRequest, window: SyncWindow, range: TimelineRange): Promise<{ timeline: SyncEvent[]; body: Json }> {
    const { roomId, windows, full, lastJoin } = range;
    const filter = request.filter.room.timeline;
    const limit = Math.min(filter.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);
    const matching: SyncEvent[] = [];
    const selective = filter.types !== undefined || filter.notTypes.length > 0 || filter.senders !== undefined || filter.notSenders.length > 0 || filter.containsUrl !== undefined;
    const page = selective ? Math.max(limit + 1, 100) : limit + 1;
    let beforeSeq = range.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    // A full sync needs the whole state before the timeline anyway: the state before the
    // first page, read once, also gives the visibility walk its start (one query per room
    // instead of two), and the state before the timeline follows from it and the page.
    let pageState: { readonly rows: readonly SyncEvent[]; readonly state: readonly SyncEvent[] } | undefined;
    let pages = 0;
    for (;;) {
      const rows = await this.roomEvents.timeline(roomId, windows, page - 1, [...window.ignored], beforeSeq);
      pages++;
      // History visibility is decided walking forward from the state before the page.
      const visible = new Set<string>();
      if (rows[0] !== undefined) {
        let start: VisibilityEvent[];
        if (full && pages === 1) {
          const state = await this.roomEvents.stateBefore(roomId, rows[0].room_seq);
          pageState = { rows, state };
          start = state.filter((event) => isVisibilityState(event, window.userId)).map((event) => JSON.parse(event.pdu_json) as VisibilityEvent);
        } else {
          start = await this.roomEvents.visibilityStateBefore(roomId, rows[0].room_seq, window.userId);
        }
        const walker = new VisibilityWalker(visibilityStateOf(start, window.userId), window.userId, lastJoin);
        for (const row of rows) if (walker.next(JSON.parse(row.pdu_json) as VisibilityEvent, BigInt(row.room_seq))) visible.add(row.event_id);
      }
      // `rows` is oldest first; `matching` collects newest first.
      for (let index = rows.length - 1; index >= 0 && matching.length <= limit; index--) {
        const row = rows[index]!;
        if (visible.has(row.event_id) && allows(filter, row)) matching.push(row);
      }
      if (matching.length > limit || rows.length < page) break;
      beforeSeq = rows[0]!.room_seq;
    }
    const limited = matching.length > limit;
    const timeline = matching.slice(0, limit).reverse();
    const firstSeq = timeline[0]?.room_seq ?? Number.MAX_SAFE_INTEGER;
    const lazy = request.filter.room.state.lazyLoadMembers;
    let state: SyncEvent[];
    if (full && pages === 1 && pageState !== undefined && timeline.length > 0) state = stateAt(pageState.state, pageState.rows, firstSeq);
    else if (full) state = await this.roomEvents.stateBefore(roomId, firstSeq);
    else if (limited) state = await this.roomEvents.stateChanges(roomId, await this.roomEvents.seqAt(roomId, windows), firstSeq);
    else state = [];
    const senders = new Set<string>(timeline.map((event) => event.sender));
    if (lazy && !full && timeline.length > 0) {
      // The senders' memberships (state before the timeline) may be new to a lazy-loading client.
      const known = new Set(state.filter((event) => event.type === 'm.room.member').map((event) => event.state_key));
      const needed = (await this.roomEvents.stateBefore(roomId, firstSeq, 'm.room.member', [...senders])).filter((event) => !known.has(event.state_key));
      state = [...state, ...needed];
    }
    state = state.filter((event) => allows(request.filter.room.state, event) && (!lazy || event.type !== 'm.room.member' || senders.has(event.state_key ?? '')));
    return {
      timeline,
      body: {
        timeline: { events: await this.formatter.format(request, timeline), limited, ...(timeline[0] !== undefined ? { prev_batch: `t${timeline[0].stream_ordering}` } : {}) },
        state: { events: await this.formatter.format(request, state) },
      },
    };
  }
}

/** Whether a room event filter lets a read-model event through. */
function allows(filter: RoomEventFilter, event: SyncEvent): boolean {
  if (filter.containsUrl === undefined) return roomEventFilterAllows(filter, event);
  const pdu = JSON.parse(event.pdu_json) as { content?: unknown };
  return roomEventFilterAllows(filter, { ...event, content: pdu.content });
}

/** The history visibility and `userId`'s own membership: the state a visibility walk starts from. */
function isVisibilityState(event: SyncEvent, userId: string): boolean {
  return (event.type === 'm.room.history_visibility' && event.state_key === '') || (event.type === 'm.room.member' && event.state_key === userId);
}

/**
 * The state just before room sequence `beforeSeq`: `state` (the state before the page's
 * first row) with the page's state events before `beforeSeq` applied in order.
 */
function stateAt(state: readonly SyncEvent[], page: readonly SyncEvent[], beforeSeq: number): SyncEvent[] {
  const byKey = new Map<string, SyncEvent>();
  for (const event of state) byKey.set(`${event.type}\u0000${event.state_key}`, event);
  for (const event of page) {
    if (event.room_seq >= beforeSeq) break;
    if (event.state_key !== null) byKey.set(`${event.type}\u0000${event.state_key}`, event);
  }
  return [...byKey.values()].sort((a, b) => (a.type === b.type ? compare(a.state_key ?? '', b.state_key ?? '') : compare(a.type, b.type)));
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
