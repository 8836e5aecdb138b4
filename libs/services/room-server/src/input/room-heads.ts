import type { ProtoEvent } from '@axon/contracts-kafka';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { authStateFromEvents, formatStateKey, parseStateKey, selectAuthEventKeys, type AuthState } from '@axon/matrix-event-auth';
import type { EventId, RoomId } from '@axon/matrix-identifiers';
import { getRoomVersionRules, type RoomVersionRules } from '@axon/matrix-room-versions';
import { authEventOf, type ReferencedEvent } from '../events/event-builder';
import type { CommittedRoom } from '../storage/append.repository';
import type { RoomRow, StoredEvent } from '../storage/rows';
import type { WriterStorage } from './writer-storage';

/** Rooms whose head stays cached; the least recently written go first. */
const MAX_ROOMS = 1024;
/** A room's cached state entries; past this the room's state is read again as needed. */
const MAX_STATE_ENTRIES = 4096;

/** What the writer knows of a room at its head: enough to build the next event without reading. */
interface RoomHead {
  readonly room: RoomRow;
  readonly rules: RoomVersionRules;
  readonly extremities: readonly ReferencedEvent[];
  /** Current state entries read so far, by `formatStateKey`; null: known to be absent. */
  readonly state: Map<string, StoredEvent | null>;
}

/** The refusal of an input to a room that does not exist (or whose ID names none). */
export function unknownRoom(roomId: string): MatrixError {
  return new MatrixError('M_NOT_FOUND', `unknown room ${roomId}`, 404);
}

export function referenceOf(event: StoredEvent): ReferencedEvent {
  return { event_id: event.event_id, depth: event.depth, pdu_json: event.pdu_json };
}

/**
 * The heads of the rooms this writer appends to, kept between inputs so that a send reads
 * nothing before it writes: the room row, its forward extremities and the current state
 * entries the auth rules needed so far.
 *
 * Why a cache is safe here: the room server is the only writer of a room, and every
 * append locks the room's row and checks its head against the head the event was built
 * on (`RoomsRepository.fence`). If another replica appended meanwhile (the partition
 * moved and came back), the append fails with `StaleRoomHeadError`, the writer `forget`s
 * the room and builds again from the database. The cache is only ever advanced from this
 * writer's own committed appends.
 */
export class RoomHeads {
  private readonly heads = new Map<RoomId, RoomHead>();

  constructor(private readonly storage: WriterStorage) {}

  /** A draft of the room at its head, to build events on; throws M_NOT_FOUND for an unknown room. */
  async draft(roomId: RoomId): Promise<RoomDraft> {
    let head = this.heads.get(roomId);
    if (head === undefined) {
      const room = await this.storage.room(roomId);
      if (room === undefined) throw unknownRoom(roomId);
      const rules = getRoomVersionRules(room.room_version);
      if (!rules.ok) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `room ${roomId} has unsupported version ${room.room_version}`);
      const extremities = (await this.storage.forwardExtremities(roomId)).map(referenceOf);
      head = { room, rules: rules.value, extremities, state: new Map() };
    }
    this.heads.delete(roomId);
    this.heads.set(roomId, head);
    while (this.heads.size > MAX_ROOMS) this.heads.delete(this.heads.keys().next().value!);
    return new RoomDraft(head, this.storage);
  }

  /** The room's appends committed: its head is the committed one, with the draft's state. */
  committed(draft: RoomDraft, committed: CommittedRoom): void {
    const events = committed.appended.map(
      (a): StoredEvent => ({
        nid: a.nid,
        event_id: a.event.eventId,
        room_id: committed.room.room_id,
        room_seq: a.roomSeq,
        type: a.event.type,
        state_key: a.event.stateKey ?? null,
        depth: a.event.depth,
        pdu_json: a.event.pduJson,
        redacted_by: null,
        txn_device_id: a.event.transaction?.device_id ?? null,
        txn_id: a.event.transaction?.txn_id ?? null,
        status: null,
      }),
    );
    const byId = new Map<EventId, ReferencedEvent>([...draft.head.extremities.map((e) => [e.event_id, e] as const), ...events.map((e) => [e.event_id, referenceOf(e)] as const)]);
    const state = draft.head.state;
    for (const event of events) if (event.state_key !== null) state.set(formatStateKey(event.type, event.state_key), event);
    if (state.size > MAX_STATE_ENTRIES) state.clear();
    const extremities = committed.extremities.map((id) => byId.get(id)).filter((e): e is ReferencedEvent => e !== undefined);
    if (extremities.length !== committed.extremities.length) {
      // An extremity this writer never saw (it cannot happen with one writer); read it again next time.
      this.heads.delete(committed.room.room_id);
      return;
    }
    this.heads.set(committed.room.room_id, { room: committed.room, rules: draft.head.rules, extremities, state });
  }

  /** Drops what is known of the rooms (another writer appended, or an append failed). */
  forget(roomIds: Iterable<RoomId>): void {
    for (const roomId of roomIds) this.heads.delete(roomId);
  }
}

/**
 * A room at its head plus the events built on it in this batch, not yet committed: each
 * built event becomes the next one's prev event, and a built state event is the current
 * state the next one is authorised against.
 */
export class RoomDraft {
  /** State set by this batch's events, over the head's. */
  private readonly overlay = new Map<string, StoredEvent>();
  /** This batch's events by ID (a redaction may name one). */
  readonly built = new Map<EventId, StoredEvent>();
  private last: ReferencedEvent | undefined;

  constructor(
    readonly head: RoomHead,
    private readonly storage: WriterStorage,
  ) {}

  get room(): RoomRow {
    return this.head.room;
  }

  get rules(): RoomVersionRules {
    return this.head.rules;
  }

  /** The prev events of the next event: the batch's last event, or the head's extremities. */
  prevEvents(): readonly ReferencedEvent[] {
    return this.last === undefined ? this.head.extremities : [this.last];
  }

  /** The auth state for `proto`: the keys the auth rules select for it, plus the create event. */
  async authStateFor(proto: ProtoEvent): Promise<AuthState> {
    const keys = selectAuthEventKeys({ ...proto, content: proto.content as JsonObject }, this.rules.authorization).map((key) => parseStateKey(key));
    keys.push(['m.room.create', '']);
    const missing = [...new Map(keys.map((pair) => [formatStateKey(...pair), pair])).entries()].flatMap(([key, pair]) =>
      this.overlay.has(key) || this.head.state.has(key) ? [] : [pair],
    );
    if (missing.length > 0) {
      const rows = await this.storage.currentState(this.room.room_id, missing);
      for (const [type, stateKey] of missing) this.head.state.set(formatStateKey(type, stateKey), null);
      for (const row of rows) this.head.state.set(formatStateKey(row.type, row.state_key ?? ''), row);
    }
    const events = keys.flatMap(([type, stateKey]) => {
      const event = this.stateEvent(type, stateKey);
      return event === undefined ? [] : [authEventOf(event.event_id, event.pdu_json, this.rules)];
    });
    return authStateFromEvents(events);
  }

  /** The current state event of a key, as this draft sees it (loaded by `authStateFor`). */
  stateEvent(type: string, stateKey: string): StoredEvent | undefined {
    const key = formatStateKey(type, stateKey);
    return this.overlay.get(key) ?? this.head.state.get(key) ?? undefined;
  }

  /** An event built on this draft: the next one follows it. */
  add(event: StoredEvent): void {
    this.built.set(event.event_id, event);
    this.last = referenceOf(event);
    if (event.state_key !== null) this.overlay.set(formatStateKey(event.type, event.state_key), event);
  }
}
