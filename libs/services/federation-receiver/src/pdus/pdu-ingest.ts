import { PREV_EVENTS_UNKNOWN, remoteEventRequestId, type RemoteEventInput } from '@axon/contracts-kafka';
import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import type { EventId, RoomId, ServerName } from '@axon/matrix-identifiers';
import type { RoomVersionRules } from '@axon/matrix-room-versions';
import type { Ed25519Backend } from '@axon/matrix-signing';
import type { Logger } from '@axon/platform-telemetry';
import { checkReceivedPdu, type CheckedPdu, type EventKeySource } from './received-pdu';

/** What the room server tells the receiver about a room (`RoomQuery`). */
export interface RoomReads {
  /** The forward extremities: the `earliest_events` of a `get_missing_events` request. */
  latestEvents(roomId: RoomId): Promise<EventId[]>;
  /** Which of these events the room server has (in the timeline, or as outliers). */
  knownEvents(eventIds: readonly EventId[]): Promise<Set<EventId>>;
}

/** What the receiver asks the server a PDU came from, to fill a gap before it (through the federation client). */
export interface GapSource {
  /** `POST /get_missing_events/{roomId}`: events between what this server has and `latest`. */
  missingEvents(origin: ServerName, roomId: RoomId, request: { earliest: readonly EventId[]; latest: readonly EventId[]; limit: number }): Promise<JsonValue[]>;
  /** `GET /state_ids/{roomId}?event_id=`: the state before the event and its auth chain, as IDs. */
  stateIds(origin: ServerName, roomId: RoomId, eventId: EventId): Promise<{ pduIds: string[]; authChainIds: string[] }>;
  /** `GET /event/{eventId}`: one PDU, or undefined. */
  event(origin: ServerName, eventId: string): Promise<JsonValue | undefined>;
}

/** Submits a room input and answers its outcome (`RoomInputClient`): throws the refusal's MatrixError. */
export interface RoomInputs {
  submit(input: RemoteEventInput): Promise<unknown>;
}

/** The outcome of one received PDU, as the `/send` response reports it. */
export type PduOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** `get_missing_events` asks for this many at a time, as Synapse does. */
const MISSING_EVENTS_LIMIT = 10;
/** A gap filled from the state before the event fetches at most this many events. */
const MAX_GAP_EVENTS = 1000;

/**
 * Takes one received PDU into its room: the receiver's checks (`checkReceivedPdu`), then
 * the room server's (`hs.room.input`, `remote_event`), answering only once the room server
 * has its outcome (durable: accepted, soft-failed or rejected and stored). When the room
 * server does not know every prev event, the gap is filled from the server that sent it:
 * first `get_missing_events` (the events between this server's latest and the PDU, oldest
 * first, each checked and taken in the same way); if the prev events are still unknown,
 * the state before the PDU (`state_ids`), whose events this server lacks are fetched,
 * checked and handed over as outliers with it.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export class PduIngest {
  constructor(
    private readonly rooms: RoomReads,
    private readonly inputs: RoomInputs,
    private readonly gaps: GapSource,
    private readonly keys: EventKeySource,
    private readonly backend: Ed25519Backend,
    private readonly logger: Pick<Logger, 'warn'>,
    /** This server's name: whose users' memberships may be taken out of band. */
    private readonly localServer?: string,
  ) {}

  async ingest(origin: ServerName, roomId: RoomId, rules: RoomVersionRules, value: JsonValue): Promise<{ eventId?: EventId; outcome: PduOutcome }> {
    const checked = await checkReceivedPdu(value, rules, this.keys, this.backend);
    if (!checked.ok) return { ...(checked.eventId === undefined ? {} : { eventId: checked.eventId }), outcome: { ok: false, error: checked.reason } };
    const pdu = checked.value;
    if (pdu.roomId !== roomId) return { eventId: pdu.eventId, outcome: { ok: false, error: `the event is not in room ${roomId}` } };
    let outcome = await this.submit(origin, pdu);
    if (outcome === 'gap') {
      await this.fetchMissing(origin, roomId, rules, pdu);
      outcome = await this.submit(origin, pdu);
    }
    if (outcome === 'gap') outcome = await this.submitWithState(origin, roomId, rules, pdu);
    // A membership of a local user in a room this server is not in (an invite withdrawn,
    // a knock answered): the server that sent it will not serve the room's history to a
    // server outside it, so it is taken out of band.
    if (outcome === 'gap' && this.isLocalMembership(pdu)) {
      outcome = await this.submit(origin, pdu, { out_of_band: {}, room_version: rules.id });
    }
    return { eventId: pdu.eventId, outcome: outcome === 'gap' ? { ok: false, error: 'the events before it could not be fetched' } : outcome };
  }

  private isLocalMembership(pdu: CheckedPdu): boolean {
    const stateKey = pdu.pdu['state_key'];
    return this.localServer !== undefined && pdu.pdu.type === 'm.room.member' && typeof stateKey === 'string' && stateKey.slice(stateKey.indexOf(':') + 1) === this.localServer;
  }

  private async submit(origin: ServerName, pdu: CheckedPdu, extra: Pick<RemoteEventInput, 'outliers' | 'state_before' | 'out_of_band' | 'room_version'> = {}): Promise<PduOutcome | 'gap'> {
    try {
      await this.inputs.submit({ kind: 'remote_event', request_id: remoteEventRequestId(pdu.eventId), room_id: pdu.roomId, origin, pdu_json: pdu.pduJson, ...extra });
      return { ok: true };
    } catch (error) {
      if (!(error instanceof MatrixError)) throw error;
      // The room server answers M_NOT_FOUND (and records nothing) while prev events are unknown.
      if (error.errcode === 'M_NOT_FOUND' && error.message.startsWith(PREV_EVENTS_UNKNOWN)) return 'gap';
      return { ok: false, error: error.message };
    }
  }

  /** Takes the events between the room's latest and the PDU, oldest first; failures are the peer's gap to keep. */
  private async fetchMissing(origin: ServerName, roomId: RoomId, rules: RoomVersionRules, pdu: CheckedPdu): Promise<void> {
    let events: JsonValue[];
    try {
      events = await this.gaps.missingEvents(origin, roomId, { earliest: await this.rooms.latestEvents(roomId), latest: [pdu.eventId], limit: MISSING_EVENTS_LIMIT });
    } catch (error) {
      this.logger.warn({ origin, roomId, err: error }, 'get_missing_events failed; trying the state before the event');
      return;
    }
    const checked: CheckedPdu[] = [];
    for (const event of events) {
      const result = await checkReceivedPdu(event, rules, this.keys, this.backend);
      if (result.ok && result.value.roomId === roomId) checked.push(result.value);
    }
    checked.sort((a, b) => Number(a.pdu.depth) - Number(b.pdu.depth));
    for (const event of checked) await this.submit(origin, event);
  }

  /** The PDU with the state before it (`state_ids`), its unknown events fetched and checked as outliers. */
  private async submitWithState(origin: ServerName, roomId: RoomId, rules: RoomVersionRules, pdu: CheckedPdu): Promise<PduOutcome | 'gap'> {
    let ids: { pduIds: string[]; authChainIds: string[] };
    try {
      ids = await this.gaps.stateIds(origin, roomId, pdu.eventId);
    } catch (error) {
      this.logger.warn({ origin, roomId, eventId: pdu.eventId, err: error }, 'state_ids failed; the event stays unknown');
      return 'gap';
    }
    const wanted = [...new Set([...ids.authChainIds, ...ids.pduIds])].slice(0, MAX_GAP_EVENTS) as EventId[];
    const known = await this.rooms.knownEvents(wanted);
    const fetched: CheckedPdu[] = [];
    for (const id of wanted.filter((id) => !known.has(id))) {
      let event: JsonValue | undefined;
      try {
        event = await this.gaps.event(origin, id);
      } catch (error) {
        this.logger.warn({ origin, eventId: id, err: error }, 'fetching a state event failed; going on without it');
      }
      if (event === undefined) continue;
      const result = await checkReceivedPdu(event, rules, this.keys, this.backend);
      if (result.ok && result.value.eventId === id) fetched.push(result.value);
    }
    return this.submit(origin, pdu, { outliers: inAuthOrder(fetched).map((event) => event.pduJson), state_before: ids.pduIds });
  }
}

/** Events ordered so that each one's auth events (among them) come before it. */
export function inAuthOrder<T extends { readonly eventId: EventId; readonly pdu: JsonObject }>(events: readonly T[]): T[] {
  const byId = new Map(events.map((event) => [event.eventId as string, event]));
  const done = new Set<string>();
  const ordered: T[] = [];
  const visit = (event: T, path: Set<string>): void => {
    if (done.has(event.eventId) || path.has(event.eventId)) return;
    path.add(event.eventId);
    const auth = event.pdu['auth_events'];
    for (const ref of Array.isArray(auth) ? auth : []) {
      const id = Array.isArray(ref) ? ref[0] : ref;
      const dependency = typeof id === 'string' ? byId.get(id) : undefined;
      if (dependency !== undefined) visit(dependency, path);
    }
    done.add(event.eventId);
    ordered.push(event);
  };
  for (const event of [...events].sort((a, b) => Number(a.pdu['depth']) - Number(b.pdu['depth']))) visit(event, new Set());
  return ordered;
}
