import { isReferenceHashBase64 } from './base64';
import type { Brand } from './brand';
import { splitParsedIdentifier, splitSigilledIdentifier } from './common-identifier';
import { parseEventIdOfFormat, type EventId } from './event-id';
import { err, ok, type Result } from '@axon/matrix-errors';
import type { ServerName } from './server-name';
import { checkIdentifierBytes } from './unicode';

/**
 * A room ID, `!opaque_id`. Case-sensitive and opaque to clients.
 * Spec: https://spec.matrix.org/v1.19/appendices/#room-ids
 */
export type RoomId = Brand<string, 'RoomId'>;

/**
 * The room ID forms:
 *
 * - `domain`: `!opaque_id:domain` (room versions 1 to 11);
 * - `hash`: the `m.room.create` event's ID with `!` for `$`, that is `!` and the URL-safe
 *   unpadded base64 reference hash, with no domain (introduced in room version 12,
 *   spec v1.16).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#event-format
 */
export type RoomIdFormat = 'domain' | 'hash';

/**
 * Parses a room ID in either form. In the `domain` form the opaque part must be
 * non-empty and free of `:`, NUL and lone surrogates; the whole ID must not exceed 255
 * bytes. In the `hash` form the rest must be a URL-safe unpadded base64 SHA-256 hash.
 * Spec: https://spec.matrix.org/v1.19/appendices/#room-ids
 */
export function parseRoomId(input: string): Result<RoomId> {
  if (!input.startsWith('!')) return err('room ID must start with "!"');
  if (!input.includes(':')) {
    const bytesError = checkIdentifierBytes(input, 'room ID');
    if (bytesError !== undefined) return err(bytesError);
    return isReferenceHashBase64(input.slice(1), 'url-safe')
      ? ok(input as RoomId)
      : err('room ID without a domain must be "!" and a URL-safe unpadded base64 reference hash');
  }
  const parts = splitSigilledIdentifier(input, '!', 'room ID');
  if (typeof parts === 'string') return err(parts);
  if (parts.localpart === '') return err('room ID opaque part is empty');
  return ok(input as RoomId);
}

/**
 * Which form a room ID has.
 * Spec: https://spec.matrix.org/v1.19/appendices/#room-ids
 */
export function getRoomIdFormat(roomId: RoomId): RoomIdFormat {
  return roomId.includes(':') ? 'domain' : 'hash';
}

/**
 * The server name of a `domain` room ID (the server that created the room, used only to
 * avoid collisions), `undefined` for `hash` room IDs.
 * Spec: https://spec.matrix.org/v1.19/appendices/#room-ids
 */
export function getRoomIdServerName(roomId: RoomId): ServerName | undefined {
  return getRoomIdFormat(roomId) === 'domain' ? splitParsedIdentifier(roomId).serverName : undefined;
}

/**
 * The room ID of a room version 12 room, from its `m.room.create` event ID (`$` becomes
 * `!`). Fails unless the event ID is in the URL-safe (`v4`) format.
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorisation-rules
 */
export function deriveRoomIdFromCreateEventId(createEventId: EventId): Result<RoomId> {
  const checked = parseEventIdOfFormat(createEventId, 'v4');
  return checked.ok ? ok(`!${createEventId.slice(1)}` as RoomId) : err(checked.error);
}

/**
 * The `m.room.create` event ID of a `hash` room ID (`!` becomes `$`), `undefined` for
 * `domain` room IDs.
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorisation-rules
 */
export function getCreateEventIdOfRoomId(roomId: RoomId): EventId | undefined {
  return getRoomIdFormat(roomId) === 'hash' ? (`$${roomId.slice(1)}` as EventId) : undefined;
}
