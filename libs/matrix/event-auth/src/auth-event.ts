import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { isJsonObject, type EventFormat, type Pdu } from '@axon/matrix-events';
import { formatStateKey, type StateKey } from './state-key';

/**
 * The fields of an event that the authorization rules and state resolution read, with the
 * event ID known (computed from the reference hash from room version 3) and references
 * reduced to event IDs whatever the format. Field names are the PDU's own. Built from a
 * validated PDU by `toAuthEvent`; the PDU itself is never re-keyed or re-serialised.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export interface AuthEvent {
  readonly event_id: string;
  /** Absent only on a room version 12 `m.room.create` event. */
  readonly room_id?: string;
  readonly type: string;
  readonly state_key?: string;
  readonly sender: string;
  readonly content: JsonObject;
  readonly origin_server_ts: number;
  readonly depth: number;
  readonly auth_events: readonly string[];
  readonly prev_events: readonly string[];
  /** The redacted event's ID: top-level before room version 11, in `content` from v11. */
  readonly redacts?: string;
}

function referenceIds(value: JsonValue | undefined): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((reference) => (Array.isArray(reference) ? reference[0] : reference)).filter((id): id is string => typeof id === 'string');
}

/**
 * The `AuthEvent` view of a PDU that passed `validatePdu` for `format`, with its event ID
 * (`event_id` in room versions 1 and 2; the computed one from v3).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export function toAuthEvent(pdu: Pdu, eventId: string, format: EventFormat): AuthEvent {
  const redacts = format.topLevelRedacts ? pdu['redacts'] : isJsonObject(pdu.content) ? pdu.content['redacts'] : undefined;
  const stateKey = pdu['state_key'];
  const roomId = pdu['room_id'];
  return {
    event_id: eventId,
    ...(typeof roomId === 'string' ? { room_id: roomId } : {}),
    type: pdu.type,
    ...(typeof stateKey === 'string' ? { state_key: stateKey } : {}),
    sender: pdu.sender,
    content: pdu.content,
    origin_server_ts: Number(pdu.origin_server_ts),
    depth: Number(pdu.depth),
    auth_events: referenceIds(pdu.auth_events),
    prev_events: referenceIds(pdu.prev_events),
    ...(typeof redacts === 'string' ? { redacts } : {}),
  };
}

/**
 * The room state an event is authorised against, by (`type`, `state_key`): the event's
 * auth events, the state before it, or the current state. From room version 12 the
 * `m.room.create` event is never cited in `auth_events`; the caller still answers it here
 * (it is the event whose ID the room ID is).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#checks-performed-on-receipt-of-a-pdu
 */
export interface AuthState {
  get(type: string, stateKey: string): AuthEvent | undefined;
}

/**
 * An `AuthState` over a state map keyed by `formatStateKey`.
 * Spec: https://spec.matrix.org/v1.19/#room-structure
 */
export function authStateFromMap(state: ReadonlyMap<StateKey, AuthEvent>): AuthState {
  return { get: (type, stateKey) => state.get(formatStateKey(type, stateKey)) };
}

/**
 * An `AuthState` over a list of events (an event's auth events, say): the state events
 * among them by (`type`, `state_key`), the last one winning on a duplicate.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#checks-performed-on-receipt-of-a-pdu
 */
export function authStateFromEvents(events: Iterable<AuthEvent>): AuthState {
  const state = new Map<StateKey, AuthEvent>();
  for (const event of events) {
    if (event.state_key !== undefined) state.set(formatStateKey(event.type, event.state_key), event);
  }
  return authStateFromMap(state);
}
