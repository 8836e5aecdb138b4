import type { JsonObject } from '@axon/matrix-canonical-json';
import { redactEvent, type RedactionRules } from './redaction';

/** The PDU fields a client event carries over unchanged. */
const CLIENT_FIELDS = ['sender', 'type', 'state_key', 'origin_server_ts', 'redacts'] as const;

/**
 * What `formatClientEvent` needs besides the PDU: the event and room IDs (a v3+ PDU has
 * no `event_id`; a v12 create event no `room_id`), the time for `unsigned.age`, the
 * room's redaction rules and the formatted redaction when the event is redacted, and the
 * transaction ID for the device that sent it.
 */
export interface ClientEventOptions {
  readonly eventId: string;
  readonly roomId: string;
  readonly now: number;
  readonly redacted?: { readonly rules: RedactionRules; readonly because?: JsonObject };
  readonly transactionId?: string;
}

/**
 * A redaction served to clients names its target in both places, whatever its room version
 * keeps: from v11 the PDU has `redacts` only in `content`, and older clients (matrix-nio)
 * read the top-level one; before v11 only at the top level, and newer clients read
 * `content`. Spec: https://spec.matrix.org/v1.19/rooms/v11/#moving-the-redacts-property-of-mroomredaction-events-to-a-content-property
 */
function withRedactsInBothPlaces(event: JsonObject): void {
  const content = event['content'] as JsonObject;
  const inContent = content['redacts'];
  const topLevel = event['redacts'];
  if (topLevel === undefined && typeof inContent === 'string') event['redacts'] = inContent;
  else if (inContent === undefined && typeof topLevel === 'string') event['content'] = { ...content, redacts: topLevel };
}

/**
 * Formats a PDU as a `ClientEvent`: `content`, `event_id`, `origin_server_ts`, `room_id`,
 * `sender`, `state_key`, `type` (and, on a redaction, `redacts` both at the top level and in `content`),
 * with `unsigned.age`, the redacted content and `unsigned.redacted_because` when
 * redacted, and `unsigned.transaction_id` for the sending device.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#room-event-format
 */
export function formatClientEvent(pdu: JsonObject, options: ClientEventOptions): JsonObject {
  const source = options.redacted === undefined ? pdu : redactEvent(pdu, options.redacted.rules);
  const content = Object.hasOwn(source, 'content') ? source['content'] : undefined;
  const event: JsonObject = { content: typeof content === 'object' && content !== null && !Array.isArray(content) ? content : {}, event_id: options.eventId, room_id: options.roomId };
  for (const field of CLIENT_FIELDS) if (Object.hasOwn(source, field)) event[field] = source[field] as JsonObject[string];
  if (event['type'] === 'm.room.redaction') withRedactsInBothPlaces(event);
  const ts = pdu['origin_server_ts'];
  const unsigned: JsonObject = { age: Math.max(0, options.now - (typeof ts === 'number' ? ts : options.now)) };
  if (options.redacted?.because !== undefined) unsigned['redacted_because'] = options.redacted.because;
  if (options.transactionId !== undefined) unsigned['transaction_id'] = options.transactionId;
  event['unsigned'] = unsigned;
  return event;
}
