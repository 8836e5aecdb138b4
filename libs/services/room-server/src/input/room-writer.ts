import { randomBytes } from 'node:crypto';
import { currentTraceHeaders } from '@axon/platform-bus';
import type { EntityManager } from '@axon/platform-database';
import type { ProtoEvent, RoomInput, RoomOutput } from '@axon/contracts-kafka';
import { encodeUrlSafeUnpaddedBase64, type JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import {
  authStateFromEvents,
  checkEventAuth,
  formatStateKey,
  getNamedPowerLevel,
  getUserPowerLevel,
  parseStateKey,
  selectAuthEventKeys,
  type AuthEvent,
  type AuthState,
} from '@axon/matrix-event-auth';
import { deriveRoomIdFromCreateEventId, type EventId } from '@axon/matrix-identifiers';
import { getRoomVersionRules, isKnownRoomVersion, type RoomVersionRules } from '@axon/matrix-room-versions';
import { authEventOf, buildLocalEvent, type BuiltEvent, type ReferencedEvent, type Signer } from '../events/event-builder';
import type { RoomServerMetrics } from '../room-server.metrics';
import { StaleRoomHeadError, type AppendResult, type RoomRow, type RoomStore, type StoredEvent } from '../storage/room-store';

/** What an input came to: the appended event, or the Matrix error that refused it. */
export type InputOutcome = { readonly ok: true; readonly roomId: string; readonly eventId: string } | { readonly ok: false; readonly error: MatrixError };

/** How many times a write is rebuilt after losing a race for the room's head. */
const MAX_STALE_RETRIES = 10;

function referenceOf(stored: StoredEvent): ReferencedEvent {
  return { event_id: stored.event_id, depth: stored.depth, pdu_json: stored.pdu_json };
}

/**
 * The room server's write path, one input at a time per room (the bus delivers a room's
 * inputs in order to one handler; `rooms.head_seq` fences other instances): build the
 * event from the room's forward extremities and current state, check it against its
 * auth events, append it with the state delta, the output message and the input's
 * result in one transaction. A refused input records its error instead.
 */
export interface RoomWriterOptions {
  readonly now?: () => number;
  readonly metrics?: Pick<RoomServerMetrics, 'eventsPersisted'>;
}

export class RoomWriter {
  private readonly now: () => number;

  constructor(
    private readonly store: RoomStore,
    private readonly signer: Signer,
    private readonly options: RoomWriterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Handles one input; idempotent per `request_id`. */
  async handle(input: RoomInput): Promise<InputOutcome> {
    const previous = await this.store.getInputResult(input.request_id);
    if (previous !== undefined) {
      return previous.event_id !== null && previous.room_id !== null
        ? { ok: true, roomId: previous.room_id, eventId: previous.event_id }
        : { ok: false, error: new MatrixError(MatrixError.isErrcode(previous.errcode ?? '') ? (previous.errcode as 'M_FORBIDDEN') : 'M_UNKNOWN', previous.error ?? 'refused') };
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return input.kind === 'create_room' ? await this.createRoom(input) : await this.appendNew(input);
      } catch (error) {
        if (error instanceof StaleRoomHeadError && attempt < MAX_STALE_RETRIES) {
          // Another writer won the room's head: back off a little (jittered) and rebuild.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * (attempt + 1)));
          continue;
        }
        if (error instanceof MatrixError) {
          await this.store.recordRefusal(input.request_id, input.kind === 'new_event' ? input.room_id : undefined, error.errcode, error.message);
          return { ok: false, error };
        }
        throw error;
      }
    }
  }

  private async appendNew(input: Extract<RoomInput, { kind: 'new_event' }>): Promise<InputOutcome> {
    const room = await this.store.getRoom(input.room_id);
    if (room === undefined) throw new MatrixError('M_NOT_FOUND', `unknown room ${input.room_id}`, 404);
    const rules = this.rulesOf(room);
    const extremities = await this.store.getForwardExtremities(room.room_id);
    const stateSource = new CurrentState(this.store, room, rules);
    const built = await this.build(input.event, rules, room.room_id, extremities.map(referenceOf), stateSource);
    const redacts = await this.redactionTarget(input.event, built, rules, stateSource);
    const outcome = await this.store.transaction(async (tx) => {
      const current = await this.store.getRoom(room.room_id, tx);
      if (current === undefined || current.head_seq !== room.head_seq) throw new StaleRoomHeadError(room.room_id);
      await this.appendBuilt(tx, current, rules, built, input.event, extremities.map((e) => e.event_id), redacts);
      await this.store.recordAccepted(tx, input.request_id, room.room_id, built.eventId);
      return { ok: true as const, roomId: room.room_id, eventId: built.eventId };
    });
    this.options.metrics?.eventsPersisted.inc();
    return outcome;
  }

  private async createRoom(input: Extract<RoomInput, { kind: 'create_room' }>): Promise<InputOutcome> {
    const rules = getRoomVersionRules(input.room_version);
    if (!rules.ok) throw rules.error;
    const [createProto, ...rest] = input.events;
    if (createProto === undefined || createProto.type !== 'm.room.create' || createProto.state_key !== '') {
      throw new MatrixError('M_BAD_JSON', 'the first event of a new room must be m.room.create');
    }
    const provisionalId = rules.value.authorization.roomIdIsCreateEventId
      ? undefined
      : `!${encodeUrlSafeUnpaddedBase64(new Uint8Array(randomBytes(12))).replace(/[-_]/g, 'x')}:${this.signer.serverName}`;
    const state = new Map<string, AuthEvent>();
    const stored = new Map<string, ReferencedEvent>();
    const create = this.buildChecked(createProto, rules.value, provisionalId, [], [], authStateFromEvents([]));
    const roomId = provisionalId ?? this.roomIdOf(create.eventId);
    const built: Array<{ built: BuiltEvent; proto: ProtoEvent; prev: string[] }> = [{ built: create, proto: createProto, prev: [] }];
    let previous: ReferencedEvent = { event_id: create.eventId, depth: 1, pdu_json: create.pduJson };
    state.set(formatStateKey('m.room.create', ''), create.authEvent);
    stored.set(create.eventId, previous);
    for (const proto of rest) {
      const current = authStateFromEvents(state.values());
      const authIds = this.selectAuthIds(proto, rules.value, current);
      const event = this.buildChecked(proto, rules.value, roomId, [previous], authIds.map((id) => stored.get(id)!), current);
      built.push({ built: event, proto, prev: [previous.event_id] });
      previous = { event_id: event.eventId, depth: event.authEvent.depth, pdu_json: event.pduJson };
      stored.set(event.eventId, previous);
      if (proto.state_key !== undefined) state.set(formatStateKey(proto.type, proto.state_key), event.authEvent);
    }
    const outcome = await this.store.transaction(async (tx) => {
      await this.store.insertRoom(tx, roomId, rules.value.id);
      for (const { built: event, proto, prev } of built) {
        const room = await this.store.getRoom(roomId, tx);
        await this.appendBuilt(tx, room!, rules.value, event, proto, prev, undefined);
      }
      await this.store.recordAccepted(tx, input.request_id, roomId, create.eventId);
      return { ok: true as const, roomId, eventId: create.eventId };
    });
    this.options.metrics?.eventsPersisted.inc(built.length);
    return outcome;
  }

  private roomIdOf(createEventId: string): string {
    const roomId = deriveRoomIdFromCreateEventId(createEventId as EventId);
    if (!roomId.ok) throw new MatrixError('M_UNKNOWN', roomId.error, 500);
    return roomId.value;
  }

  private rulesOf(room: RoomRow): RoomVersionRules {
    const rules = getRoomVersionRules(room.room_version);
    if (!rules.ok) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `room ${room.room_id} has unsupported version ${room.room_version}`);
    return rules.value;
  }

  /** The event IDs of the current state the new event must cite. */
  private selectAuthIds(proto: ProtoEvent, rules: RoomVersionRules, state: AuthState): string[] {
    const ids: string[] = [];
    for (const key of selectAuthEventKeys({ ...proto, content: proto.content as JsonObject }, rules.authorization)) {
      const [type, stateKey] = parseStateKey(key);
      const event = state.get(type, stateKey);
      if (event !== undefined) ids.push(event.event_id);
    }
    return ids;
  }

  private buildChecked(
    proto: ProtoEvent,
    rules: RoomVersionRules,
    roomId: string | undefined,
    prev: readonly ReferencedEvent[],
    auth: readonly ReferencedEvent[],
    authState: AuthState,
  ): BuiltEvent {
    const built = buildLocalEvent(proto, { rules, roomId: proto.type === 'm.room.create' && rules.authorization.roomIdIsCreateEventId ? undefined : roomId, prevEvents: prev, authEvents: auth, signer: this.signer, now: this.now() });
    const allowed = checkEventAuth(built.authEvent, authState, rules.authorization, { isKnownRoomVersion, backend: this.signer.backend });
    if (!allowed.ok) throw new MatrixError('M_FORBIDDEN', `${allowed.error.reason} (${allowed.error.rule})`);
    return built;
  }

  private async build(proto: ProtoEvent, rules: RoomVersionRules, roomId: string, prev: readonly ReferencedEvent[], state: CurrentState): Promise<BuiltEvent> {
    const authState = await state.forEvent(proto);
    const authIds = this.selectAuthIds(proto, rules, authState);
    const authEvents = state.referenced(authIds);
    return this.buildChecked(proto, rules, roomId, prev, authEvents, authState);
  }

  /**
   * A redaction applies (the redacted event is served redacted) when its sender sent the
   * original or has the redact level; otherwise a local user may not send it at all.
   * Spec: https://spec.matrix.org/v1.19/client-server-api/#redactions
   */
  private async redactionTarget(proto: ProtoEvent, built: BuiltEvent, rules: RoomVersionRules, state: CurrentState): Promise<string | undefined> {
    if (proto.type !== 'm.room.redaction') return undefined;
    const target = built.authEvent.redacts;
    if (target === undefined) throw new MatrixError('M_BAD_JSON', 'm.room.redaction needs the event it redacts');
    const [original] = await this.store.getEventsByIds([target]);
    if (original === undefined || original.room_id !== state.roomId) return undefined;
    const originalSender = authEventOf(original.event_id, original.pdu_json, rules).sender;
    if (originalSender === proto.sender) return target;
    const authState = await state.forEvent(proto);
    const level = getUserPowerLevel(proto.sender, authState, rules.authorization);
    if (level >= getNamedPowerLevel(authState.get('m.room.power_levels', '')?.content, 'redact', rules.authorization)) return target;
    throw new MatrixError('M_FORBIDDEN', 'redacting events of other users needs the redact power level');
  }

  private async appendBuilt(
    tx: EntityManager,
    room: RoomRow,
    rules: RoomVersionRules,
    built: BuiltEvent,
    proto: ProtoEvent,
    prevEventIds: readonly string[],
    redacts: string | undefined,
  ): Promise<AppendResult> {
    const membership = proto.type === 'm.room.member' ? proto.content['membership'] : undefined;
    const result = await this.store.append(tx, room, {
      eventId: built.eventId,
      type: proto.type,
      stateKey: proto.state_key,
      sender: proto.sender,
      depth: built.authEvent.depth,
      originServerTs: built.authEvent.origin_server_ts,
      pduJson: built.pduJson,
      prevEventIds,
      authEventIds: built.authEvent.auth_events,
      membership: typeof membership === 'string' ? membership : undefined,
      redacts,
    });
    const output: RoomOutput = {
      room_id: room.room_id,
      room_version: rules.id,
      event_id: built.eventId,
      pdu_json: built.pduJson,
      stream_ordering: result.nid,
      room_seq: result.roomSeq,
      prev_room_seq: result.roomSeq - 1,
      state_added: result.stateAdded,
      state_removed: result.stateRemoved,
      ...(redacts === undefined ? {} : { redacted_event_id: redacts }),
    };
    // The input's trace (the bus's consume span, itself continuing the client's request):
    // the relay publishes this output in it, so the request and its outputs make one trace.
    await this.store.insertOutbox(tx, room.room_id, JSON.stringify(output), currentTraceHeaders());
    return result;
  }
}

/**
 * The current state of a room as the write path reads it: only the keys the auth events
 * selection names for an event (plus the create event), loaded per event.
 */
class CurrentState {
  private readonly loaded = new Map<string, StoredEvent>();

  constructor(
    private readonly store: RoomStore,
    private readonly room: RoomRow,
    private readonly rules: RoomVersionRules,
  ) {}

  get roomId(): string {
    return this.room.room_id;
  }

  async forEvent(proto: ProtoEvent): Promise<AuthState> {
    const keys = selectAuthEventKeys({ ...proto, content: proto.content as JsonObject }, this.rules.authorization).map((key) => parseStateKey(key));
    keys.push(['m.room.create', '']);
    const rows = await this.store.getCurrentState(this.room.room_id, { keys });
    const events = rows.map((row) => {
      this.loaded.set(row.event_id, row);
      return authEventOf(row.event_id, row.pdu_json, this.rules);
    });
    return authStateFromEvents(events);
  }

  referenced(eventIds: readonly string[]): ReferencedEvent[] {
    return eventIds.map((id) => referenceOf(this.loaded.get(id)!));
  }
}
