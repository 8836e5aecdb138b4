import type { RoomEvent } from '@axon/contracts-grpc';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { redactEvent } from '@axon/matrix-events';
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

const PASSED_THROUGH = ['sender', 'type', 'state_key', 'origin_server_ts', 'redacts'] as const;

/**
 * Formats a stored event for clients. `redactions` supplies the redaction events that
 * apply (by ID) so a redacted event carries `redacted_because`.
 */
export function toClientEvent(event: RoomEvent, redactions: ReadonlyMap<string, RoomEvent> = new Map(), now: number = Date.now()): ClientEvent {
  let pdu = JSON.parse(event.pduJson) as JsonObject;
  const unsigned: JsonObject = {};
  if (event.redactedBy !== '') {
    const rules = getRoomVersionRules(event.roomVersion);
    if (rules.ok) pdu = redactEvent(pdu, rules.value.redaction);
    const redaction = redactions.get(event.redactedBy);
    if (redaction !== undefined) unsigned['redacted_because'] = toClientEvent(redaction, new Map(), now) as unknown as JsonObject;
  }
  const formatted: Record<string, unknown> = {
    content: (pdu['content'] ?? {}) as JsonObject,
    event_id: event.eventId,
    room_id: event.roomId,
  };
  for (const key of PASSED_THROUGH) if (Object.hasOwn(pdu, key)) formatted[key] = pdu[key];
  const ts = typeof pdu['origin_server_ts'] === 'number' ? pdu['origin_server_ts'] : 0;
  unsigned['age'] = Math.max(0, now - ts);
  formatted['unsigned'] = unsigned;
  return formatted as unknown as ClientEvent;
}

/** The content of a stored event. */
export function contentOf(event: RoomEvent): JsonObject {
  const pdu = JSON.parse(event.pduJson) as JsonObject;
  const content = pdu['content'];
  return typeof content === 'object' && content !== null && !Array.isArray(content) ? (content as JsonObject) : {};
}
