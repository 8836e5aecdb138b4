import { PREV_EVENTS_UNKNOWN, type RemoteEventInput } from '@axon/contracts-kafka';
import { encodeCanonicalJson, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { formatStateKey, type AuthEvent, type StateKey } from '@axon/matrix-event-auth';
import { isJsonObject } from '@axon/matrix-events';
import { parseRoomId, type EventId, type RoomId, type UserId } from '@axon/matrix-identifiers';
import { getCanonicalJsonMode, getRoomVersionRules } from '@axon/matrix-room-versions';
import type { Ed25519Backend } from '@axon/matrix-signing';
import type { InputResultRecord } from '../storage/input-results.repository';
import type { RemoteAppendPlan, RemoteAppendResult, RemoteEventRow } from '../storage/remote-append.repository';
import type { EventStatus, RoomRow, StoredEvent } from '../storage/rows';
import { IngestRun, OK, type Verdict } from './ingest-run';
import { unknownRoom } from './room-heads';
import type { InputOutcome } from './room-writer';

/** What the ingest reads and writes: the port its tests may fake; `remoteEventStorage` is the real one. */
export interface RemoteEventStorage {
  room(roomId: RoomId): Promise<RoomRow | undefined>;
  forwardExtremities(roomId: RoomId): Promise<readonly EventId[]>;
  eventsByIds(eventIds: readonly EventId[]): Promise<StoredEvent[]>;
  /** The state group after each event (null: an outlier), by event ID. */
  stateGroupsAfter(eventIds: readonly EventId[]): Promise<Map<EventId, string | null>>;
  /** A state group as event IDs by state key. */
  groupState(groupId: string): Promise<Map<StateKey, EventId>>;
  /** The room's current state as event IDs by state key. */
  currentState(roomId: RoomId): Promise<Map<StateKey, EventId>>;
  commit(plan: RemoteAppendPlan): Promise<RemoteAppendResult>;
  /** Records the outcome of an input that stored nothing. */
  recordRefusal(result: InputResultRecord): Promise<void>;
}




export interface RemoteEventIngestOptions {
  readonly backend?: Ed25519Backend;
  /** This server's name: whose users' memberships may be taken out of band. */
  readonly serverName?: string;
}

/**
 * The room server's half of "Checks performed on receipt of a PDU" (the receiver did the
 * format, signature and hash checks before the PDU reached `hs.room.input`): for one
 * received PDU, with the outliers it needs, in the room's partition (so after every
 * earlier input of the room):
 *
 * 4. the event passes the auth rules against its own auth events, else it is rejected;
 * 5. it passes them against the state before it (its prev events' states, resolved with
 *    the room version's algorithm when there are several, or the state the receiver got
 *    for a gap), else it is rejected;
 * 6. it passes them against the room's current state, else it is soft-failed: stored with
 *    its state, never sent to clients, never a forward extremity.
 *
 * An accepted event joins the timeline: the room's forward extremities lose its prev
 * events and gain it, and the current state becomes the resolution of the states after
 * every forward extremity (the state after the event itself when it is the only one).
 * Outliers are checked against their own auth events only (rejected ones are kept as
 * rejected). An event already stored answers its stored outcome.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#checks-performed-on-receipt-of-a-pdu
 */
export class RemoteEventIngest {
  constructor(
    private readonly storage: RemoteEventStorage,
    private readonly options: RemoteEventIngestOptions = {},
  ) {}

  async ingest(input: RemoteEventInput, traceContext: Readonly<Record<string, string>>): Promise<InputOutcome> {
    const parsedRoom = parseRoomId(input.room_id);
    if (!parsedRoom.ok) return this.refuse(input.request_id, undefined, unknownRoom(input.room_id));
    const roomId = parsedRoom.value;
    let room = await this.storage.room(roomId);
    // A room joined through another server: created here with the join as its first event.
    const create = room === undefined && input.room_version !== undefined && (input.state_before !== undefined || input.out_of_band !== undefined);
    if (create) room = { room_id: roomId, room_version: input.room_version!, head_seq: 0, state_group: null, latest_nid: '0' };
    if (room === undefined) return this.refuse(input.request_id, roomId, unknownRoom(input.room_id));
    const rules = getRoomVersionRules(room.room_version);
    if (!rules.ok) return this.refuse(input.request_id, roomId, new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `room ${roomId} has unsupported version ${room.room_version}`));
    const run = new IngestRun(this.storage, rules.value, roomId, this.options);

    const parsed = run.parse(input.pdu_json);
    if (!parsed.ok) return this.refuse(input.request_id, roomId, new MatrixError('M_BAD_JSON', parsed.reason));
    const { event } = parsed;
    const eventId = event.event_id as EventId;
    // Stored already: its outcome stands. An outlier is answered as known too; it does not
    // move into the timeline (its stream position is older than the room's head, and the
    // timeline is read in stream order), which only a later backfill would want.
    const stored = (await this.storage.eventsByIds([eventId]))[0];
    if (stored !== undefined) {
      return stored.status === 'rejected' ? { ok: false, error: new MatrixError('M_FORBIDDEN', `event ${eventId} was rejected`) } : { ok: true, roomId, eventId };
    }

    if (input.out_of_band !== undefined && !(await this.isResident(roomId))) return this.takeOutOfBand(input, room!, create, event, traceContext);

    const outliers: RemoteEventRow[] = [];
    for (const json of input.outliers ?? []) {
      const outlier = run.parse(json);
      if (!outlier.ok) return this.refuse(input.request_id, roomId, new MatrixError('M_BAD_JSON', `outlier: ${outlier.reason}`));
      if ((await run.lookup([outlier.event.event_id as EventId])).size > 0) continue;
      const verdict = await run.checkAgainstAuthEvents(outlier.event);
      const status: EventStatus = verdict.ok ? 'outlier' : 'rejected';
      run.remember(outlier.event, json, status);
      outliers.push(rowOf(outlier.event, json, status, verdict));
    }

    // 4. Against its own auth events. Some unknown here: a gap, as unknown prev events
    // are (the receiver fetches the event's auth chain with the state before it).
    let verdict = await run.checkAgainstAuthEvents(event);
    if (!verdict.ok && verdict.missing === true) {
      return { ok: false, error: new MatrixError('M_NOT_FOUND', `${PREV_EVENTS_UNKNOWN}: ${verdict.reason} (of ${eventId})`, 404) };
    }
    // 5. Against the state before it.
    const before = await run.stateBefore(event, input.state_before);
    if (before === undefined) {
      // Nothing to check it against: the receiver fetches the missing events (or the state) and sends it again.
      return { ok: false, error: new MatrixError('M_NOT_FOUND', `${PREV_EVENTS_UNKNOWN}: not all prev events of ${eventId} are known here`, 404) };
    }
    if (verdict.ok) verdict = await run.checkAgainstState(event, before.state);
    let status: EventStatus | null = verdict.ok ? null : 'rejected';
    // A room this server joins through another has no current state to check against yet
    // (or only the out-of-band invite it had), and is not created for a join that fails.
    const joiningThroughAnother = create || (input.state_before !== undefined && input.room_version !== undefined && !(await this.isResident(roomId)));
    if (create && status === 'rejected') return this.refuse(input.request_id, roomId, new MatrixError('M_FORBIDDEN', verdict.ok ? 'rejected' : verdict.reason));
    // 6. Against the current state.
    if (status === null && !joiningThroughAnother) {
      const current = await this.storage.currentState(roomId);
      const soft = await run.checkAgainstState(event, current);
      if (!soft.ok) status = 'soft_failed';
    }
    run.remember(event, input.pdu_json, status);

    const result: InputResultRecord =
      status === 'rejected'
        ? { requestId: input.request_id, roomId, errcode: 'M_FORBIDDEN', error: verdict.ok ? 'rejected' : verdict.reason }
        : { requestId: input.request_id, roomId, eventId };
    const plan: RemoteAppendPlan = {
      room,
      ...(create ? { create: true as const } : {}),
      outliers,
      event: { ...rowOf(event, input.pdu_json, status, verdict), stateBefore: before.group === undefined ? { entries: before.state } : { group: before.group } },
      ...(status === null ? { accepted: await this.acceptance(run, room, event, before.state, traceContext, input.relay ? input.origin : undefined) } : {}),
      result,
    };
    await this.storage.commit(plan);
    return 'errcode' in result ? { ok: false, error: new MatrixError('M_FORBIDDEN', result.error) } : { ok: true, roomId, eventId };
  }

  /** Whether a user of this server is joined to the room: then every event of it is checked in full. */
  private async isResident(roomId: RoomId): Promise<boolean> {
    const server = this.options.serverName;
    if (server === undefined) return false;
    const current = await this.storage.currentState(roomId);
    const members = [...current.entries()].filter(([key]) => key.startsWith('["m.room.member",'));
    if (members.length === 0) return false;
    const joined = await this.storage.eventsByIds(members.map(([, id]) => id));
    return joined.some((row) => {
      const pdu = JSON.parse(row.pdu_json) as { state_key?: string; content?: { membership?: unknown } };
      return pdu.content?.membership === 'join' && pdu.state_key?.endsWith(`:${server}`) === true;
    });
  }

  /**
   * A membership event about a local user of a room this server is not in (`out_of_band`):
   * stored in the room's timeline without auth checks (its auth and prev events are not to
   * be had here), setting the user's membership, never a forward extremity; the room is
   * made here when new. An invite keeps the stripped state it came with in `unsigned`.
   */
  private async takeOutOfBand(input: RemoteEventInput, room: RoomRow, create: boolean, event: AuthEvent, traceContext: Readonly<Record<string, string>>): Promise<InputOutcome> {
    const roomId = room.room_id;
    const eventId = event.event_id as EventId;
    const server = this.options.serverName;
    if (event.type !== 'm.room.member' || event.state_key === undefined || server === undefined || !event.state_key.endsWith(`:${server}`)) {
      return this.refuse(input.request_id, roomId, new MatrixError('M_FORBIDDEN', 'only a membership event of a local user is taken out of band', 403));
    }
    let pduJson = input.pdu_json;
    const { invite_room_state: inviteState, knock_room_state: knockState } = input.out_of_band ?? {};
    if (inviteState !== undefined || knockState !== undefined) {
      const pdu = JSON.parse(pduJson) as JsonObject;
      const unsigned = isJsonObject(pdu['unsigned']) ? pdu['unsigned'] : {};
      pdu['unsigned'] = {
        ...unsigned,
        ...(inviteState === undefined ? {} : { invite_room_state: inviteState as JsonValue[] }),
        ...(knockState === undefined ? {} : { knock_room_state: knockState as JsonValue[] }),
      };
      const rules = getRoomVersionRules(room.room_version);
      pduJson = encodeCanonicalJson(pdu, { mode: rules.ok ? getCanonicalJsonMode(rules.value) : 'strict' });
    }
    const current = await this.storage.currentState(roomId);
    await this.storage.commit({
      room,
      ...(create ? { create: true as const } : {}),
      outliers: [],
      event: { ...rowOf(event, pduJson, null, OK), stateBefore: room.state_group === null ? { entries: current } : { group: room.state_group } },
      accepted: { extremities: await this.storage.forwardExtremities(roomId), traceContext },
      result: { requestId: input.request_id, roomId, eventId },
    });
    return { ok: true, roomId, eventId };
  }

  /** The room's forward extremities and current state once `event` is accepted. */
  private async acceptance(
    run: IngestRun,
    room: RoomRow,
    event: AuthEvent,
    before: ReadonlyMap<StateKey, EventId>,
    traceContext: Readonly<Record<string, string>>,
    relayedFor: string | undefined,
  ): Promise<NonNullable<RemoteAppendPlan['accepted']>> {
    const eventId = event.event_id as EventId;
    const old = await this.storage.forwardExtremities(room.room_id);
    const extremities = [...old.filter((id) => !event.prev_events.includes(id)), eventId];
    const after = new Map(before);
    if (event.state_key !== undefined) after.set(formatStateKey(event.type, event.state_key), eventId);
    let currentState: Map<StateKey, EventId> | undefined;
    if (extremities.length > 1) {
      const others = extremities.filter((id) => id !== eventId);
      const groups = await this.storage.stateGroupsAfter(others);
      const states: Array<Map<StateKey, EventId>> = [after];
      for (const id of others) {
        const group = groups.get(id);
        if (group !== null && group !== undefined) states.push(await this.storage.groupState(group));
      }
      currentState = await run.resolve(states);
    }
    const redacts = await run.redactionTarget(event, before);
    return {
      extremities,
      ...(currentState === undefined ? {} : { currentState }),
      ...(redacts === undefined ? {} : { redacts }),
      ...(relayedFor === undefined ? {} : { relayedFor }),
      traceContext,
    };
  }

  private async refuse(requestId: string, roomId: RoomId | undefined, error: MatrixError): Promise<InputOutcome> {
    await this.storage.recordRefusal({ requestId, roomId, errcode: error.errcode, error: error.message });
    return { ok: false, error };
  }
}

function rowOf(event: AuthEvent, pduJson: string, status: EventStatus | null, verdict: Verdict): RemoteEventRow {
  return {
    eventId: event.event_id as EventId,
    type: event.type,
    stateKey: event.state_key,
    sender: event.sender as UserId,
    depth: event.depth,
    originServerTs: event.origin_server_ts,
    pduJson,
    authEventIds: event.auth_events as EventId[],
    ...(status === null ? {} : { status }),
    ...(verdict.ok ? {} : { rejection: verdict.reason }),
  };
}
