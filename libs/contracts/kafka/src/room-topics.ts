import { jsonCodec } from './codec';
import { defineTopic } from './topic';

/**
 * An event a local user wants sent: what the client asked for, before the room server
 * builds it (prev_events, auth_events, depth, hashes, signature are the room server's).
 */
export interface ProtoEvent {
  readonly type: string;
  readonly state_key?: string;
  readonly sender: string;
  readonly content: Record<string, unknown>;
  /** For `m.room.redaction`: the event it redacts (placed where the room version wants it). */
  readonly redacts?: string;
}

/**
 * The device a local client sent an event from and the transaction ID it chose
 * (`PUT /rooms/{roomId}/send/{eventType}/{txnId}`, `PUT /rooms/{roomId}/redact/{eventId}/{txnId}`).
 * The room server keeps it beside the event, never in the PDU (it is not signed and never
 * leaves this server), so that this device, and no other, sees it back as
 * `unsigned.transaction_id`. The user is the event's sender.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#transaction-identifiers
 */
export interface SentTransaction {
  readonly device_id: string;
  readonly txn_id: string;
}

/**
 * `hs.room.input.v1`: what the room server is asked to do to a room. Every message has a
 * `request_id`, unique per intended outcome: a redelivered or repeated message with the
 * same ID has the outcome of the first (client-api derives it from the user, device and
 * transaction ID for sends, which makes `PUT /send/{txnId}` idempotent), and the outcome
 * can be read back with `RoomQuery.GetInputResult`.
 *
 * - `new_event`: build, authorise and append one event to an existing room; `transaction`
 *   when a client sent it with a transaction ID;
 * - `create_room`: create a room of `room_version` with its initial events, in order (the
 *   first being the `m.room.create` content); keyed by the request ID, since the room ID
 *   (from room version 12 the create event's hash) does not exist yet.
 * - `remote_event`: a PDU another server sent (`RemoteEventInput`), to check against its
 *   auth events, the state before it and the current state, and store: accepted,
 *   soft-failed or rejected. The request ID is `remoteEventRequestId(event_id)`, so the
 *   same PDU received twice (or from two servers) has one outcome.
 */
export type RoomInput =
  | {
      readonly kind: 'new_event';
      readonly request_id: string;
      readonly room_id: string;
      readonly event: ProtoEvent;
      readonly transaction?: SentTransaction;
    }
  | {
      readonly kind: 'create_room';
      readonly request_id: string;
      readonly room_version: string;
      readonly events: readonly ProtoEvent[];
    }
  | RemoteEventInput;

/**
 * A PDU received over federation, after the receiver's checks (format and size for the
 * room version, the signatures of every server that must sign, the content hash, the
 * copy redacted on a mismatch): what is left is the room server's, the auth checks
 * against the event's auth events, the state before it and the current state.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#checks-performed-on-receipt-of-a-pdu
 */
export interface RemoteEventInput {
  readonly kind: 'remote_event';
  readonly request_id: string;
  readonly room_id: string;
  /** The server that sent it (logs and metrics; the PDU's signatures were checked already). */
  readonly origin: string;
  /** The PDU as canonical JSON, exactly as signed (or its redacted copy). */
  readonly pdu_json: string;
  /**
   * Events it needs that this server did not have (its auth chain, the events of
   * `state_before`), fetched and checked as `pdu_json` was, in an order where each
   * event's auth events come before it: stored as outliers (no place in the timeline).
   */
  readonly outliers?: readonly string[];
  /**
   * The state before the event as event IDs, when its prev events are not all known
   * here (a gap the receiver filled with `/state_ids`); otherwise the room server
   * computes it from the prev events.
   */
  readonly state_before?: readonly string[];
  /**
   * For a room not known here (this server joins it through another: the `send_join`
   * answer's state in `state_before`, its auth chain and state in `outliers`): the room's
   * version. The room is created with the event as its first timeline event.
   */
  readonly room_version?: string;
  /**
   * A membership event about a local user in a room this server is not in (an invite
   * from another server, its withdrawal, the rejection made through the inviting server,
   * a knock): none of its auth events or prev events can be had here, so it is taken
   * without the auth checks, as the spec lets the invited server do, and sets that
   * user's membership. `invite_room_state` (the stripped state the inviting server gave)
   * or `knock_room_state` (the resident's answer to a knock) is kept in the event's
   * `unsigned`, which no signature covers. Needs `room_version` for a room new here.
   *
   * Spec: https://spec.matrix.org/v1.19/server-server-api/#inviting-to-a-room
   */
  readonly out_of_band?: { readonly invite_room_state?: readonly unknown[]; readonly knock_room_state?: readonly unknown[] };
  /**
   * This server took the event as the resident of a membership handshake (`send_join`,
   * `send_leave`, `send_knock`): it sends the event on to the room's other servers, which
   * learn of it from no one else. The output says so (`RoomOutput.relayed_for`).
   */
  readonly relay?: true;
}

/**
 * How the room server's M_NOT_FOUND refusal of a `remote_event` begins when the event's
 * prev events are not all known (and no `state_before` came with it): the receiver then
 * fills the gap and submits it again. Such a refusal is not recorded as the outcome.
 */
export const PREV_EVENTS_UNKNOWN = 'prev events unknown';

/** The request ID of a received PDU: one outcome per event, however often it arrives. */
export function remoteEventRequestId(eventId: string): string {
  return `pdu:${eventId}`;
}

/**
 * `hs.room.output.v1`: one event appended to a room, with the state it changed, so that
 * no consumer re-runs state resolution. `prev_room_seq` is the room's previous output
 * (gap detection: a consumer that has seen `room_seq - 1` has seen everything before).
 */
export interface RoomOutput {
  readonly room_id: string;
  readonly room_version: string;
  readonly event_id: string;
  /** The PDU as canonical JSON, exactly as stored and signed. */
  readonly pdu_json: string;
  /** Position in the server's event stream (decimal). */
  readonly stream_ordering: string;
  /** The room's own sequence: 1 for the create event, then 2, 3... */
  readonly room_seq: number;
  readonly prev_room_seq: number;
  /** State entries the event changed, as [type, state_key, event_id]. */
  readonly state_added: ReadonlyArray<readonly [string, string, string]>;
  readonly state_removed: ReadonlyArray<readonly [string, string, string]>;
  /** For an `m.room.redaction` that applies (the room server checked who may redact): the redacted event. */
  readonly redacted_event_id?: string;
  /** The sending device's transaction, when its input had one (`RoomInput`'s `new_event`). */
  readonly transaction?: SentTransaction;
  /**
   * For an event of another server that this one sends on to the room's other servers
   * (it came in a membership handshake: `RemoteEventInput.relay`): that server, which
   * has it already.
   */
  readonly relayed_for?: string;
  /**
   * The PDUs of `state_added` events that were never outputs themselves (outliers: the
   * state a join through another server, or a gap, brought): consumers that keep room
   * state need them, and have no other way to see them.
   */
  readonly state_events?: ReadonlyArray<{ readonly event_id: string; readonly pdu_json: string }>;
}

function requireObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function requireString(object: Record<string, unknown>, name: string, what: string): string {
  const value = object[name];
  if (typeof value !== 'string') throw new TypeError(`${what}.${name} is not a string`);
  return value;
}

function validateProtoEvent(value: unknown, what: string): ProtoEvent {
  const event = requireObject(value, what);
  requireString(event, 'type', what);
  requireString(event, 'sender', what);
  requireObject(event['content'], `${what}.content`);
  if (event['state_key'] !== undefined) requireString(event, 'state_key', what);
  if (event['redacts'] !== undefined) requireString(event, 'redacts', what);
  return event as unknown as ProtoEvent;
}

function validateTransaction(value: unknown, what: string): SentTransaction {
  const transaction = requireObject(value, what);
  requireString(transaction, 'device_id', what);
  requireString(transaction, 'txn_id', what);
  return transaction as unknown as SentTransaction;
}

/** Checks the shape of a `hs.room.input.v1` payload (a malformed one is poison). */
export function validateRoomInput(value: unknown): RoomInput {
  const input = requireObject(value, 'room input');
  requireString(input, 'request_id', 'room input');
  switch (input['kind']) {
    case 'new_event':
      requireString(input, 'room_id', 'room input');
      validateProtoEvent(input['event'], 'room input.event');
      if (input['transaction'] !== undefined) validateTransaction(input['transaction'], 'room input.transaction');
      break;
    case 'create_room': {
      requireString(input, 'room_version', 'room input');
      const events = input['events'];
      if (!Array.isArray(events) || events.length === 0) throw new TypeError('room input.events is not a non-empty array');
      events.forEach((event, index) => validateProtoEvent(event, `room input.events[${index}]`));
      break;
    }
    case 'remote_event': {
      requireString(input, 'room_id', 'room input');
      requireString(input, 'origin', 'room input');
      requireString(input, 'pdu_json', 'room input');
      if (input['room_version'] !== undefined) requireString(input, 'room_version', 'room input');
      if (input['out_of_band'] !== undefined) requireObject(input['out_of_band'], 'room input.out_of_band');
      for (const name of ['outliers', 'state_before'] as const) {
        const list = input[name];
        if (list !== undefined && (!Array.isArray(list) || list.some((item) => typeof item !== 'string'))) throw new TypeError(`room input.${name} is not an array of strings`);
      }
      break;
    }
    default:
      throw new TypeError(`room input.kind ${JSON.stringify(input['kind'])} is unknown`);
  }
  return input as unknown as RoomInput;
}

/** The partition key of a room input: the room, or the request for a room being created. */
export function roomInputKey(input: RoomInput): string {
  return input.kind === 'create_room' ? input.request_id : input.room_id;
}

/** `hs.room.input.v1`, keyed by room: one writer per room (ARCHITECTURE.md §2.1). */
export const roomInputTopic = defineTopic<RoomInput>({
  name: 'hs.room.input.v1',
  partitions: 16,
  key: roomInputKey,
  codec: jsonCodec(validateRoomInput),
});

/** `hs.room.output.v1`, keyed by room: each room's events in order. */
export const roomOutputTopic = defineTopic<RoomOutput>({
  name: 'hs.room.output.v1',
  partitions: 16,
  key: (output) => output.room_id,
  codec: jsonCodec<RoomOutput>(),
});

/**
 * The wake-up channel (platform cache `Wakeups`) on which the room server announces the
 * outcome of the input with this request ID (`encodeRoomInputOutcome`). The waiter answers
 * from the payload; `RoomQuery.GetInputResult` is only its fallback for a lost wake-up.
 */
export function roomInputResultChannel(requestId: string): string {
  return `room-input:${requestId}`;
}

/** The outcome of a room input: the event appended (and its room), or the Matrix error that refused it. */
export type RoomInputOutcome =
  | { readonly ok: true; readonly room_id: string; readonly event_id: string }
  | { readonly ok: false; readonly errcode: string; readonly error: string };

/** The payload of a `roomInputResultChannel` wake-up. */
export function encodeRoomInputOutcome(outcome: RoomInputOutcome): string {
  return JSON.stringify(outcome);
}

/**
 * Reads a `roomInputResultChannel` payload; undefined for anything else (a payload of an
 * older room server: the waiter then reads the outcome with `RoomQuery.GetInputResult`).
 */
export function decodeRoomInputOutcome(payload: string): RoomInputOutcome | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    // Not JSON: an older room server's bare event ID or errcode.
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  if (o['ok'] === true && typeof o['room_id'] === 'string' && typeof o['event_id'] === 'string') return { ok: true, room_id: o['room_id'], event_id: o['event_id'] };
  if (o['ok'] === false && typeof o['errcode'] === 'string' && typeof o['error'] === 'string') return { ok: false, errcode: o['errcode'], error: o['error'] };
  return undefined;
}
