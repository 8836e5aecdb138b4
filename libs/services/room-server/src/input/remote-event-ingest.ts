import { PREV_EVENTS_UNKNOWN, type RemoteEventInput } from '@axon/contracts-kafka';
import { encodeCanonicalJson, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import {
  authStateFromEvents,
  checkAuthEventsList,
  checkEventAuth,
  formatStateKey,
  getNamedPowerLevel,
  getUserPowerLevel,
  getUserServer,
  selectAuthEventKeys,
  toAuthEvent,
  type AuthEvent,
  type AuthState,
  type StateKey,
} from '@axon/matrix-event-auth';
import { isJsonObject, validatePdu } from '@axon/matrix-events';
import { getCreateEventIdOfRoomId, parseRoomId, type EventId, type RoomId, type UserId } from '@axon/matrix-identifiers';
import { getCanonicalJsonMode, getRoomVersionRules, isKnownRoomVersion, type RoomVersionRules } from '@axon/matrix-room-versions';
import { computeEventId, type Ed25519Backend } from '@axon/matrix-signing';
import { resolveState, type StateResolutionEvent } from '@axon/matrix-state-res';
import type { InputResultRecord } from '../storage/input-results.repository';
import type { RemoteAppendPlan, RemoteAppendResult, RemoteEventRow } from '../storage/remote-append.repository';
import type { EventStatus, RoomRow, StoredEvent } from '../storage/rows';
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

/** An event as the checks know it: its auth view, PDU JSON and how it is stored (or will be). */
interface KnownEvent {
  readonly auth: AuthEvent;
  readonly pduJson: string;
  readonly status: EventStatus | null;
}

/** A failed rule, in the spec's words: the event is rejected, or soft-failed. */
type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly missing?: true };

const OK: Verdict = { ok: true };

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

/** The events one ingest has read or checked, and the checks over them. */
class IngestRun {
  private readonly known = new Map<EventId, KnownEvent>();

  constructor(
    private readonly storage: RemoteEventStorage,
    private readonly rules: RoomVersionRules,
    private readonly roomId: RoomId,
    private readonly options: RemoteEventIngestOptions,
  ) {}

  /** A PDU of this room in the room version's format, with its event ID. */
  parse(json: string): { ok: true; event: AuthEvent } | { ok: false; reason: string } {
    let value: JsonValue;
    try {
      value = JSON.parse(json) as JsonValue;
    } catch (error) {
      return { ok: false, reason: `not JSON: ${(error as Error).message}` };
    }
    const format = this.rules.eventFormat;
    const pdu = validatePdu(value, format);
    if (!pdu.ok) return { ok: false, reason: `${pdu.error.field} ${pdu.error.reason}` };
    const isCreate = pdu.value.type === 'm.room.create' && this.rules.authorization.roomIdIsCreateEventId;
    if (!isCreate && pdu.value['room_id'] !== this.roomId) return { ok: false, reason: `the event is not in room ${this.roomId}` };
    const eventId = format.includesEventId ? String(pdu.value['event_id']) : computeEventId(pdu.value, format, this.rules.redaction);
    return { ok: true, event: toAuthEvent(pdu.value, eventId, format) };
  }

  remember(event: AuthEvent, pduJson: string, status: EventStatus | null): void {
    this.known.set(event.event_id as EventId, { auth: event, pduJson, status });
  }

  /** The events among `ids` known here (this run's, then the database's). */
  async lookup(ids: readonly EventId[]): Promise<Map<EventId, KnownEvent>> {
    const found = new Map<EventId, KnownEvent>();
    const missing: EventId[] = [];
    for (const id of ids) {
      const event = this.known.get(id);
      if (event !== undefined) found.set(id, event);
      else missing.push(id);
    }
    if (missing.length > 0) {
      for (const row of await this.storage.eventsByIds(missing)) {
        if (row.room_id !== this.roomId) continue;
        const event: KnownEvent = { auth: toAuthEvent(JSON.parse(row.pdu_json), row.event_id, this.rules.eventFormat), pduJson: row.pdu_json, status: row.status };
        this.known.set(row.event_id, event);
        found.set(row.event_id, event);
      }
    }
    return found;
  }

  /** From room version 12 the create event is cited by no event: every check still reads it. */
  private async withCreate(events: AuthEvent[]): Promise<AuthEvent[]> {
    const createId = getCreateEventIdOfRoomId(this.roomId);
    if (createId === undefined || events.some((e) => e.event_id === createId)) return events;
    const create = (await this.lookup([createId])).get(createId);
    return create === undefined ? events : [create.auth, ...events];
  }

  /** Rule 4: the event's auth events are the right ones, known, not rejected, and allow it. */
  async checkAgainstAuthEvents(event: AuthEvent): Promise<Verdict> {
    const ids = event.auth_events as EventId[];
    const found = await this.lookup(ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) return { ok: false, reason: `auth events not known: ${missing.join(', ')}`, missing: true };
    const authEvents = ids.map((id) => found.get(id)!.auth);
    // The create event has rules of its own (rule 1), whatever it cites.
    if (event.type === 'm.room.create') return this.allowedBy(event, authStateFromEvents([]));
    const list = checkAuthEventsList(event, authEvents, this.rules.authorization, (id) => found.get(id as EventId)?.status === 'rejected');
    if (!list.ok) return { ok: false, reason: `${list.error.reason} (${list.error.rule})` };
    return this.allowedBy(event, authStateFromEvents(await this.withCreate(authEvents)));
  }

  /** Rules 5 and 6: the event against a room state (the state before it, or the current state). */
  async checkAgainstState(event: AuthEvent, state: ReadonlyMap<StateKey, EventId>): Promise<Verdict> {
    const keys = new Set(selectAuthEventKeys(event, this.rules.authorization));
    keys.add(formatStateKey('m.room.create', ''));
    const ids = [...keys].flatMap((key) => (state.has(key) ? [state.get(key)!] : []));
    const found = await this.lookup(ids);
    return this.allowedBy(event, authStateFromEvents(await this.withCreate(ids.flatMap((id) => (found.has(id) ? [found.get(id)!.auth] : [])))));
  }

  private allowedBy(event: AuthEvent, state: AuthState): Verdict {
    const allowed = checkEventAuth(event, state, this.rules.authorization, { isKnownRoomVersion, ...(this.options.backend === undefined ? {} : { backend: this.options.backend }) });
    return allowed.ok ? OK : { ok: false, reason: `${allowed.error.reason} (${allowed.error.rule})` };
  }

  /**
   * The state before `event`: the state the receiver gave (a gap), else the state after its
   * prev event, else the resolution of the states after its prev events. Undefined when a
   * prev event is unknown or has no state here (an outlier). `group` is the state group it
   * already is, when it is one.
   */
  async stateBefore(event: AuthEvent, given: readonly string[] | undefined): Promise<{ state: Map<StateKey, EventId>; group?: string | null } | undefined> {
    if (given !== undefined) {
      const found = await this.lookup(given as EventId[]);
      const state = new Map<StateKey, EventId>();
      for (const known of found.values()) if (known.auth.state_key !== undefined && known.status !== 'rejected') state.set(formatStateKey(known.auth.type, known.auth.state_key), known.auth.event_id as EventId);
      return { state };
    }
    const prevs = event.prev_events as EventId[];
    if (prevs.length === 0) return { state: new Map(), group: null };
    const groups = await this.storage.stateGroupsAfter(prevs);
    if (prevs.some((id) => groups.get(id) === undefined || groups.get(id) === null)) return undefined;
    const distinct = [...new Set(prevs.map((id) => groups.get(id)!))];
    if (distinct.length === 1) return { state: await this.storage.groupState(distinct[0]!), group: distinct[0]! };
    const states = await Promise.all(distinct.map((group) => this.storage.groupState(group)));
    return { state: await this.resolve(states) };
  }

  /** State resolution with the room version's algorithm, over events this run or the database knows. */
  async resolve(states: ReadonlyArray<ReadonlyMap<StateKey, EventId>>): Promise<Map<StateKey, EventId>> {
    const resolved = await resolveState(
      states,
      this.rules,
      {
        getEvents: async (ids) => {
          const found = await this.lookup(ids as EventId[]);
          return new Map([...found].map(([id, known]): [string, StateResolutionEvent] => [id, known.status === 'rejected' ? { ...known.auth, rejected: true } : known.auth]));
        },
      },
      { isKnownRoomVersion, ...(this.options.backend === undefined ? {} : { backend: this.options.backend }) },
    );
    return new Map([...resolved].map(([key, id]) => [key, id as EventId]));
  }

  /**
   * The event an accepted `m.room.redaction` applies to: a known event of the room whose
   * sender is of the redaction's sender's server, or any when the sender has the redact
   * power level in the state before the redaction. Otherwise the redaction is kept and
   * the event is not redacted (a server receiving it cannot check more).
   *
   * Spec: https://spec.matrix.org/v1.19/rooms/v11/#handling-redactions
   */
  async redactionTarget(event: AuthEvent, before: ReadonlyMap<StateKey, EventId>): Promise<EventId | undefined> {
    if (event.type !== 'm.room.redaction' || event.redacts === undefined) return undefined;
    const target = (await this.lookup([event.redacts as EventId])).get(event.redacts as EventId);
    if (target === undefined || target.status === 'rejected') return undefined;
    if (getUserServer(target.auth.sender) === getUserServer(event.sender)) return target.auth.event_id as EventId;
    const keys = [formatStateKey('m.room.power_levels', ''), formatStateKey('m.room.create', ''), formatStateKey('m.room.member', event.sender)];
    const ids = keys.flatMap((key) => (before.has(key) ? [before.get(key)!] : []));
    const found = await this.lookup(ids);
    const state = authStateFromEvents(await this.withCreate(ids.flatMap((id) => (found.has(id) ? [found.get(id)!.auth] : []))));
    const level = getUserPowerLevel(event.sender, state, this.rules.authorization);
    return level >= getNamedPowerLevel(state.get('m.room.power_levels', '')?.content, 'redact', this.rules.authorization) ? (target.auth.event_id as EventId) : undefined;
  }
}
