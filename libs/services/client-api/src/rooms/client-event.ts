import type { RoomEvent } from '@axon/contracts-grpc';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { formatClientEvent } from '@axon/matrix-events';
import { getRoomVersionRules } from '@axon/matrix-room-versions';

/**
 * An event in the format clients see (`ClientEvent`): the PDU's `content`, `event_id`,
 * `origin_server_ts`, `room_id`, `sender`, `state_key`, `type` and, before room version
 * 11, a redaction's top-level `redacts`; `unsigned.age`, and for a redacted event its
 * redacted content with `unsigned.redacted_because`.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#room-event-format
 */
export interface ClientEvent {
  content: JsonObject;
  event_id: string;
  origin_server_ts: number;
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  redacts?: string;
  unsigned?: JsonObject;
}

/**
 * Formats a stored event for clients (`formatClientEvent` of the events library, with the
 * room version's redaction rules). `redactions` supplies the redaction events that apply
 * (by ID) so a redacted event carries `redacted_because`.
 */
export function toClientEvent(event: RoomEvent, redactions: ReadonlyMap<string, RoomEvent> = new Map(), now: number = Date.now()): ClientEvent {
  const pdu = JSON.parse(event.pduJson) as JsonObject;
  const rules = event.redactedBy === '' ? undefined : getRoomVersionRules(event.roomVersion);
  const redaction = event.redactedBy === '' ? undefined : redactions.get(event.redactedBy);
  const formatted = formatClientEvent(pdu, {
    eventId: event.eventId,
    roomId: event.roomId,
    now,
    ...(rules?.ok
      ? { redacted: { rules: rules.value.redaction, ...(redaction === undefined ? {} : { because: toClientEvent(redaction, new Map(), now) as unknown as JsonObject }) } }
      : {}),
  });
  return formatted as unknown as ClientEvent;
}

/** The content of a stored event. */
export function contentOf(event: RoomEvent): JsonObject {
  const pdu = JSON.parse(event.pduJson) as JsonObject;
  const content = pdu['content'];
  return typeof content === 'object' && content !== null && !Array.isArray(content) ? (content as JsonObject) : {};
}
