import type { EventFilter, RoomEventFilter, RoomFilter } from './filter';

/**
 * Whether an `EventFilter` (presence, global account data) lets an event through: its
 * type matches `types` (when present) and no `not_types` pattern, and its sender is in
 * `senders` (when present) and not in `not_senders`. A `not_*` match excludes the event
 * even when the allow list names it. Types may use `*` for any run of characters;
 * senders are compared exactly.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter
 */
export function eventFilterAllows(filter: EventFilter, event: { readonly type: string; readonly sender: string }): boolean {
  if (filter.notTypes.some((pattern) => typeMatches(pattern, event.type))) return false;
  if (filter.types !== undefined && !filter.types.some((pattern) => typeMatches(pattern, event.type))) return false;
  if (filter.notSenders.includes(event.sender)) return false;
  if (filter.senders !== undefined && !filter.senders.includes(event.sender)) return false;
  return true;
}

/**
 * Whether a `RoomEventFilter` lets a room event through: {@link eventFilterAllows}, then
 * `rooms`/`not_rooms` (`not_rooms` wins), then `contains_url`: `true` keeps only events
 * whose `content.url` is a string, `false` keeps only the others, absent ignores it.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter_request_roomeventfilter
 */
export function roomEventFilterAllows(
  filter: RoomEventFilter,
  event: { readonly type: string; readonly sender: string; readonly room_id: string; readonly content?: unknown },
): boolean {
  if (!eventFilterAllows(filter, event)) return false;
  if (!listsAllow(filter.rooms, filter.notRooms, event.room_id)) return false;
  if (filter.containsUrl !== undefined) {
    const content = event.content;
    const hasUrl = typeof content === 'object' && content !== null && typeof (content as Record<string, unknown>)['url'] === 'string';
    if (hasUrl !== filter.containsUrl) return false;
  }
  return true;
}

/**
 * Whether the top-level `room` filter (`rooms`, `not_rooms`; `not_rooms` wins) lets a
 * room through. The spec applies it before the `ephemeral`, `state`, `timeline` and
 * `account_data` filters.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter_request_roomfilter
 */
export function roomAllowed(roomFilter: Pick<RoomFilter, 'rooms' | 'notRooms'>, roomId: string): boolean {
  return listsAllow(roomFilter.rooms, roomFilter.notRooms, roomId);
}

function listsAllow(allow: readonly string[] | undefined, deny: readonly string[], value: string): boolean {
  return !deny.includes(value) && (allow === undefined || allow.includes(value));
}

/** The spec's type patterns: `*` matches any run of characters, everything else itself. */
function typeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return regex.test(type);
}
