import { randomBytes } from 'node:crypto';
import { currentTraceHeaders, isPermanentFailure } from '@axon/platform-bus';
import type { ProtoEvent, RemoteEventInput, RoomInput, RoomOutput, SentTransaction } from '@axon/contracts-kafka';
import { encodeUrlSafeUnpaddedBase64 } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { getNamedPowerLevel, getUserPowerLevel, type AuthEvent, type AuthState } from '@axon/matrix-event-auth';
import { deriveRoomIdFromCreateEventId, parseEventId, parseRoomId, type EventId, type RoomId } from '@axon/matrix-identifiers';
import { getRoomVersionRules } from '@axon/matrix-room-versions';
import { authEventOf, type BuiltEvent, type Signer } from '../events/event-builder';
import type { RoomServerMetrics } from '../room-server.metrics';
import type { AppendEvent, AppendResult, RoomAppendPlan } from '../storage/append.repository';
import type { InputResultRecord } from '../storage/input-results.repository';
import type { OutboxEntry } from '../storage/outbox.repository';
import { RequestSeenError, StaleRoomHeadError, type InputResultRow, type RoomRow, type StoredEvent } from '../storage/rows';
import { authEventsFor, buildChecked, chainInitialEvents } from './event-authoring';
import { referenceOf, RoomHeads, unknownRoom, type RoomDraft } from './room-heads';
import type { RemoteEventIngest } from './remote-event-ingest';
import type { WriterStorage } from './writer-storage';

/** What an input came to: the appended event, or the Matrix error that refused it. */
export type InputOutcome = { readonly ok: true; readonly roomId: RoomId; readonly eventId: EventId } | { readonly ok: false; readonly error: MatrixError };

/** An input with the trace context its output continues (its consume span). */
export interface WriterInput {
  readonly input: RoomInput;
  readonly traceContext: Readonly<Record<string, string>>;
}

/** The event a redaction names, as the writer reads it (built in this batch, or stored). */
type OriginalEvent = Pick<StoredEvent, 'room_id' | 'event_id' | 'pdu_json'>;

/** How many times a write is rebuilt after losing a race for a room's head. */
const MAX_STALE_RETRIES = 10;

export interface RoomWriterOptions {
  readonly now?: () => number;
  /** Checks and stores PDUs received over federation (`remote_event` inputs); without it they are refused. */
  readonly remote?: RemoteEventIngest;
  readonly metrics?: Pick<RoomServerMetrics, 'eventsPersisted'>;
}

function outcomeOf(row: InputResultRow): InputOutcome {
  if (row.event_id !== null && row.room_id !== null) return { ok: true, roomId: row.room_id, eventId: row.event_id };
  const errcode = MatrixError.isErrcode(row.errcode ?? '') ? (row.errcode as 'M_FORBIDDEN') : 'M_UNKNOWN';
  return { ok: false, error: new MatrixError(errcode, row.error ?? 'refused') };
}

function refusal(requestId: string, roomId: RoomId | undefined, error: MatrixError): InputResultRecord {
  return { requestId, roomId, errcode: error.errcode, error: error.message };
}

/** The output message of an appended event (`hs.room.output.v1`), carrying its state delta. */
function outputOf(room: RoomRow, appended: AppendResult): OutboxEntry {
  const { event } = appended;
  const output: RoomOutput = {
    room_id: room.room_id,
    room_version: room.room_version,
    event_id: event.eventId,
    pdu_json: event.pduJson,
    stream_ordering: appended.nid,
    room_seq: appended.roomSeq,
    prev_room_seq: appended.roomSeq - 1,
    state_added: appended.stateAdded,
    state_removed: appended.stateRemoved,
    ...(event.redacts === undefined ? {} : { redacted_event_id: event.redacts }),
    ...(event.transaction === undefined ? {} : { transaction: event.transaction }),
  };
  return { roomId: room.room_id, output, traceContext: event.traceContext };
}

function appendEventOf(
  proto: ProtoEvent,
  built: BuiltEvent,
  prev: readonly EventId[],
  redacts: EventId | undefined,
  traceContext: Readonly<Record<string, string>>,
  transaction?: SentTransaction,
): AppendEvent {
  const membership = proto.type === 'm.room.member' ? proto.content['membership'] : undefined;
  return {
    eventId: built.eventId,
    type: proto.type,
    stateKey: proto.state_key,
    sender: built.sender,
    depth: built.authEvent.depth,
    originServerTs: built.authEvent.origin_server_ts,
    pduJson: built.pduJson,
    prevEventIds: prev,
    authEventIds: built.authEventIds,
    membership: typeof membership === 'string' ? membership : undefined,
    redacts,
    traceContext,
    ...(transaction === undefined ? {} : { transaction }),
  };
}

/**
 * The room server's write path (group commit). The bus hands it a batch of inputs (every
 * input queued in a partition when a slot freed up; each room's in order, and no room in
 * two batches at once); it builds each event on its room's head (cached: `RoomHeads`)
 * and the events built before it in the batch, checks it against its auth events, and
 * appends every accepted event of the batch, with its state delta, output message and
 * the inputs' outcomes (refusals included), in one transaction fenced per room
 * (`AppendRepository`). Idempotent per `request_id`: an input seen before answers its
 * recorded outcome.
 */
export class RoomWriter {
  private readonly now: () => number;
  private readonly heads: RoomHeads;

  constructor(
    private readonly storage: WriterStorage,
    private readonly signer: Signer,
    private readonly options: RoomWriterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.heads = new RoomHeads(storage);
  }

  /** Handles one input (a batch of one). */
  async handle(input: RoomInput, traceContext: Readonly<Record<string, string>> = currentTraceHeaders()): Promise<InputOutcome> {
    return (await this.handleBatch([{ input, traceContext }]))[0]!;
  }

  /**
   * Handles inputs in order; resolves with each one's outcome once all are durable. An
   * input the database can never store (a permanent failure: a NUL character in text, a
   * number out of range) is refused with M_BAD_JSON and its refusal recorded, when it is
   * alone: in a batch of several, the failure is thrown, and the bus delivers the batch
   * again one input at a time, so only the input that causes it is refused, at once.
   */
  async handleBatch(items: readonly WriterInput[]): Promise<InputOutcome[]> {
    try {
      return await this.handleInputs(items);
    } catch (error) {
      if (items.length !== 1 || !isPermanentFailure(error)) throw error;
      const { input } = items[0]!;
      const recorded = (await this.storage.inputResults([input.request_id])).get(input.request_id);
      if (recorded !== undefined) return [outcomeOf(recorded)];
      const refused = new MatrixError('M_BAD_JSON', 'the event holds a value that cannot be stored (such as a NUL character in a string)');
      const roomId = input.kind === 'new_event' ? parseRoomId(input.room_id) : undefined;
      await this.storage.commit({ rooms: [], results: [refusal(input.request_id, roomId?.ok === true ? roomId.value : undefined, refused)], output: outputOf });
      return [{ ok: false, error: refused }];
    }
  }

  /**
   * Idempotency per request ID, optimistically: inputs are built and committed without
   * first reading whether they were handled before (one statement per batch saved, a
   * ninth of a send's transactions at one sender); a commit that finds an outcome recorded
   * rolls back (`RequestSeenError`), and the batch is handled again knowing the recorded
   * outcomes.
   */
  private async handleInputs(items: readonly WriterInput[]): Promise<InputOutcome[]> {
    try {
      return await this.handleKnowing(items, new Map());
    } catch (error) {
      if (!(error instanceof RequestSeenError)) throw error;
      return this.handleKnowing(items, await this.storage.inputResults(items.map((item) => item.input.request_id)));
    }
  }

  /** Handles inputs in order, answering those in `previous` (handled before) with their recorded outcome. */
  private async handleKnowing(items: readonly WriterInput[], previous: ReadonlyMap<string, InputResultRow>): Promise<InputOutcome[]> {
    const outcomes = new Array<InputOutcome | undefined>(items.length);
    const first = new Map<string, number>();
    const fresh: number[] = [];
    items.forEach((item, index) => {
      const id = item.input.request_id;
      const recorded = previous.get(id);
      if (recorded !== undefined) outcomes[index] = outcomeOf(recorded);
      else if (!first.has(id)) {
        first.set(id, index);
        fresh.push(index);
      }
    });
    for (const index of fresh) {
      const item = items[index]!;
      if (item.input.kind === 'create_room') outcomes[index] = await this.withRetries(() => this.createRoom(item.input as Extract<RoomInput, { kind: 'create_room' }>, item.traceContext));
    }
    // Local events are appended together, a run at a time; a received PDU is stored on its
    // own between them, in the batch's order (a room's local event after it builds on it).
    let run: number[] = [];
    const appendRun = async (): Promise<void> => {
      if (run.length === 0) return;
      const events = run;
      run = [];
      const appended = await this.withRetries(() => this.appendEvents(events.map((index) => items[index]!)));
      events.forEach((index, k) => (outcomes[index] = appended[k]));
    };
    for (const index of fresh) {
      const { input, traceContext } = items[index]!;
      if (input.kind === 'new_event') run.push(index);
      else if (input.kind === 'remote_event') {
        await appendRun();
        outcomes[index] = await this.ingestRemote(input, traceContext);
      }
    }
    await appendRun();
    // A request repeated within the batch has the outcome of its first occurrence.
    return items.map((item, index) => outcomes[index] ?? outcomes[first.get(item.input.request_id)!]!);
  }

  private async ingestRemote(input: RemoteEventInput, traceContext: Readonly<Record<string, string>>): Promise<InputOutcome> {
    const remote = this.options.remote;
    if (remote === undefined) return { ok: false, error: new MatrixError('M_UNRECOGNIZED', 'this room server does not take events from other servers') };
    try {
      return await this.withRetries(() => remote.ingest(input, traceContext));
    } finally {
      // The room's head and state moved outside the drafts' knowledge.
      const roomId = parseRoomId(input.room_id);
      if (roomId.ok) this.heads.forget([roomId.value]);
    }
  }

  private async withRetries<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        if (!(error instanceof StaleRoomHeadError) || attempt >= MAX_STALE_RETRIES) throw error;
        // Another writer won a room's head: back off a little (jittered) and rebuild.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * (attempt + 1)));
      }
    }
  }

  /** Builds every `new_event` input on its room's draft and commits them all in one transaction. */
  private async appendEvents(items: readonly WriterInput[]): Promise<InputOutcome[]> {
    const outcomes = new Array<InputOutcome>(items.length);
    const results: InputResultRecord[] = [];
    const byRoom = new Map<RoomId, number[]>();
    items.forEach((item, index) => {
      // The room ID came off the bus as a string: parsed here, once. One that does not
      // parse names no room, and is refused as an unknown room is.
      const { room_id: raw, request_id: requestId } = item.input as Extract<RoomInput, { kind: 'new_event' }>;
      const roomId = parseRoomId(raw);
      if (!roomId.ok) {
        const error = unknownRoom(raw);
        outcomes[index] = { ok: false, error };
        results.push(refusal(requestId, undefined, error));
        return;
      }
      byRoom.set(roomId.value, [...(byRoom.get(roomId.value) ?? []), index]);
    });
    const plans: RoomAppendPlan[] = [];
    const drafts = new Map<RoomId, RoomDraft>();
    try {
      for (const [roomId, indices] of byRoom) {
        const draft = await this.draftOrRefuse(roomId, indices, items, outcomes, results);
        if (draft === undefined) continue;
        const events: AppendEvent[] = [];
        for (const index of indices) {
          const { input, traceContext } = items[index]!;
          const { event: proto, transaction } = input as Extract<RoomInput, { kind: 'new_event' }>;
          try {
            const event = await this.buildNext(draft, proto, traceContext, transaction);
            events.push(event);
            outcomes[index] = { ok: true, roomId, eventId: event.eventId };
            results.push({ requestId: input.request_id, roomId, eventId: event.eventId });
          } catch (error) {
            if (!(error instanceof MatrixError)) throw error;
            outcomes[index] = { ok: false, error };
            results.push(refusal(input.request_id, roomId, error));
          }
        }
        if (events.length === 0) continue;
        drafts.set(roomId, draft);
        plans.push({ room: draft.room, extremities: draft.head.extremities.map((event) => event.event_id), events });
      }
      const committed = await this.storage.commit({ rooms: plans, results, output: outputOf });
      for (const room of committed) this.heads.committed(drafts.get(room.room.room_id)!, room);
      this.options.metrics?.eventsPersisted.inc(committed.reduce((sum, room) => sum + room.appended.length, 0));
      return outcomes;
    } catch (error) {
      // Whatever was read or built for these rooms may be stale now.
      this.heads.forget(byRoom.keys());
      throw error;
    }
  }

  private async draftOrRefuse(roomId: RoomId, indices: readonly number[], items: readonly WriterInput[], outcomes: InputOutcome[], results: InputResultRecord[]): Promise<RoomDraft | undefined> {
    try {
      return await this.heads.draft(roomId);
    } catch (error) {
      if (!(error instanceof MatrixError)) throw error;
      for (const index of indices) {
        outcomes[index] = { ok: false, error };
        results.push(refusal(items[index]!.input.request_id, roomId, error));
      }
      return undefined;
    }
  }

  /** Builds and authorises the next event of a draft, which then follows it. */
  private async buildNext(draft: RoomDraft, proto: ProtoEvent, traceContext: Readonly<Record<string, string>>, transaction: SentTransaction | undefined): Promise<AppendEvent> {
    const authState = await draft.authStateFor(proto);
    const authEvents = authEventsFor(proto, draft.rules, authState).map(([type, stateKey]) => referenceOf(draft.stateEvent(type, stateKey)!));
    const prev = draft.prevEvents();
    const built = buildChecked(this.signer, this.now(), proto, draft.rules, draft.room.room_id, prev, authEvents, authState);
    const redacts = this.redactionTarget(proto, built.authEvent, draft, authState, await this.originalOf(built.authEvent.redacts, draft));
    draft.add({
      nid: '',
      event_id: built.eventId,
      room_id: draft.room.room_id,
      room_seq: 0,
      type: proto.type,
      state_key: proto.state_key ?? null,
      depth: built.authEvent.depth,
      pdu_json: built.pduJson,
      redacted_by: null,
      txn_device_id: transaction?.device_id ?? null,
      txn_id: transaction?.txn_id ?? null,
      status: null,
    });
    return appendEventOf(
      proto,
      built,
      prev.map((event) => event.event_id),
      redacts,
      traceContext,
      transaction,
    );
  }

  /** The event a redaction names, from this batch or the database. */
  private async originalOf(target: string | undefined, draft: RoomDraft): Promise<OriginalEvent | undefined> {
    if (target === undefined) return undefined;
    // Unchecked by any format from room version 11 (it is content): one that does not parse names no event.
    const eventId = parseEventId(target);
    if (!eventId.ok) return undefined;
    return draft.built.get(eventId.value) ?? (await this.storage.eventsByIds([eventId.value]))[0];
  }

  /**
   * A redaction applies (the redacted event is served redacted) when its sender sent the
   * original or has the redact level; otherwise a local user may not send it at all.
   * Spec: https://spec.matrix.org/v1.19/client-server-api/#redactions
   */
  private redactionTarget(proto: ProtoEvent, event: AuthEvent, draft: RoomDraft, authState: AuthState, original: OriginalEvent | undefined): EventId | undefined {
    if (proto.type !== 'm.room.redaction') return undefined;
    if (event.redacts === undefined) throw new MatrixError('M_BAD_JSON', 'm.room.redaction needs the event it redacts');
    if (original === undefined || original.room_id !== draft.room.room_id) return undefined;
    // The original was found by the redacted ID, so its own ID is that one, branded.
    const target = original.event_id;
    if (authEventOf(original.event_id, original.pdu_json, draft.rules).sender === proto.sender) return target;
    const level = getUserPowerLevel(proto.sender, authState, draft.rules.authorization);
    if (level >= getNamedPowerLevel(authState.get('m.room.power_levels', '')?.content, 'redact', draft.rules.authorization)) return target;
    throw new MatrixError('M_FORBIDDEN', 'redacting events of other users needs the redact power level');
  }

  private async createRoom(input: Extract<RoomInput, { kind: 'create_room' }>, traceContext: Readonly<Record<string, string>>): Promise<InputOutcome> {
    try {
      const rules = getRoomVersionRules(input.room_version);
      if (!rules.ok) throw rules.error;
      // Made here: an opaque part of letters and digits, and this server's name.
      const provisionalId = rules.value.authorization.roomIdIsCreateEventId
        ? undefined
        : (`!${encodeUrlSafeUnpaddedBase64(new Uint8Array(randomBytes(12))).replace(/[-_]/g, 'x')}:${this.signer.serverName}` as RoomId);
      const chain = chainInitialEvents(this.signer, this.now, input.events, rules.value, provisionalId, (createEventId) => this.roomIdOf(createEventId));
      const events = chain.events.map(({ proto, built, prev }) => appendEventOf(proto, built, prev, undefined, traceContext));
      const room: RoomRow = { room_id: chain.roomId, room_version: rules.value.id, head_seq: 0, state_group: null, latest_nid: '0' };
      await this.storage.commit({
        rooms: [{ room, extremities: [], events, create: true }],
        results: [{ requestId: input.request_id, roomId: chain.roomId, eventId: chain.createEventId }],
        output: outputOf,
      });
      this.options.metrics?.eventsPersisted.inc(events.length);
      return { ok: true, roomId: chain.roomId, eventId: chain.createEventId };
    } catch (error) {
      if (!(error instanceof MatrixError)) throw error;
      await this.storage.commit({ rooms: [], results: [refusal(input.request_id, undefined, error)], output: outputOf });
      return { ok: false, error };
    }
  }

  private roomIdOf(createEventId: EventId): RoomId {
    const roomId = deriveRoomIdFromCreateEventId(createEventId);
    if (!roomId.ok) throw new MatrixError('M_UNKNOWN', roomId.error, 500);
    return roomId.value;
  }
}

