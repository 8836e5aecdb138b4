import type { JsonValue } from '@axon/matrix-canonical-json';
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
import { validatePdu } from '@axon/matrix-events';
import { getCreateEventIdOfRoomId, type EventId, type RoomId } from '@axon/matrix-identifiers';
import { isKnownRoomVersion, type RoomVersionRules } from '@axon/matrix-room-versions';
import { computeEventId } from '@axon/matrix-signing';
import { resolveState, type StateResolutionEvent } from '@axon/matrix-state-res';
import type { EventStatus } from '../storage/rows';
import type { RemoteEventIngestOptions, RemoteEventStorage } from './remote-event-ingest';

/** An event as the checks know it: its auth view, PDU JSON and how it is stored (or will be). */
interface KnownEvent {
  readonly auth: AuthEvent;
  readonly pduJson: string;
  readonly status: EventStatus | null;
}

/** A failed rule, in the spec's words: the event is rejected (or soft-failed); `missing`: its auth events are not known here. */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly missing?: true };

export const OK: Verdict = { ok: true };

/** The events one ingest has read or checked, and the checks over them. */
export class IngestRun {
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
