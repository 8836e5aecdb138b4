import { isReferenceHashBase64 } from './base64';
import type { Brand } from './brand';
import { splitSigilledIdentifier } from './common-identifier';
import { err, ok, type Result } from '@axon/matrix-errors';
import type { ServerName } from './server-name';
import { checkIdentifierBytes } from './unicode';

/**
 * An event ID, `$opaque_id`. Its precise format depends on the room version; the room
 * versions library says which format a version uses.
 * Spec: https://spec.matrix.org/v1.19/appendices/#event-ids
 */
export type EventId = Brand<string, 'EventId'>;

/**
 * The event ID formats, named for the room version that introduced them:
 *
 * - `v1`: `$opaque_id:domain` (room versions 1 and 2);
 * - `v3`: `$` + the reference hash in unpadded standard base64 (room version 3);
 * - `v4`: `$` + the reference hash in URL-safe unpadded base64 (room version 4 onwards).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v4/#event-ids
 */
export type EventIdFormat = 'v1' | 'v3' | 'v4';

/** All formats, oldest first. Spec: https://spec.matrix.org/v1.19/appendices/#event-ids */
export const EVENT_ID_FORMATS: readonly EventIdFormat[] = ['v1', 'v3', 'v4'];

/**
 * Parses an event ID in any format (the 255-byte limit applies to all). Use
 * {@link getEventIdFormats} to learn which, or {@link parseEventIdOfFormat} when the
 * room version is known.
 * Spec: https://spec.matrix.org/v1.19/appendices/#event-ids
 */
export function parseEventId(input: string): Result<EventId> {
  const errors: string[] = [];
  for (const format of EVENT_ID_FORMATS) {
    const parsed = parseEventIdOfFormat(input, format);
    if (parsed.ok) return parsed;
    errors.push(parsed.error);
  }
  return err(`not an event ID in any format (${errors.join('; ')})`);
}

/**
 * Parses an event ID in one format.
 * Spec: https://spec.matrix.org/v1.19/appendices/#event-ids
 */
export function parseEventIdOfFormat(input: string, format: EventIdFormat): Result<EventId> {
  const error = checkEventId(input, format);
  return error === undefined ? ok(input as EventId) : err(error);
}

/**
 * The formats an event ID is valid in. A hash whose base64 uses none of `+ / - _` is
 * valid as both `v3` and `v4`, so this may list more than one.
 * Spec: https://spec.matrix.org/v1.19/appendices/#event-ids
 */
export function getEventIdFormats(eventId: EventId): EventIdFormat[] {
  return EVENT_ID_FORMATS.filter((format) => checkEventId(eventId, format) === undefined);
}

/**
 * The server name of a `v1` event ID, `undefined` for hash-based event IDs. It only
 * namespaces the ID: the event need not be available from that server.
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#event-ids
 */
export function getEventIdServerName(eventId: EventId): ServerName | undefined {
  const colon = eventId.indexOf(':');
  return colon < 0 ? undefined : (eventId.slice(colon + 1) as ServerName);
}

function checkEventId(input: string, format: EventIdFormat): string | undefined {
  if (format === 'v1') {
    const parts = splitSigilledIdentifier(input, '$', 'event ID');
    if (typeof parts === 'string') return parts;
    return parts.localpart === '' ? 'event ID opaque part is empty' : undefined;
  }
  if (!input.startsWith('$')) return 'event ID must start with "$"';
  const bytesError = checkIdentifierBytes(input, 'event ID');
  if (bytesError !== undefined) return bytesError;
  const alphabet = format === 'v3' ? 'standard' : 'url-safe';
  return isReferenceHashBase64(input.slice(1), alphabet)
    ? undefined
    : `${format} event ID must be "$" and a 32-byte reference hash in ${alphabet} unpadded base64`;
}
