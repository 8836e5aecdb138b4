import { MatrixError } from '@axon/matrix-errors';
import { parseHistoricalUserId, parseRoomId } from '@axon/matrix-identifiers';

/**
 * An `EventFilter`, with the spec's defaults applied: an absent allow list (`types`,
 * `senders`) is `undefined` (everything allowed), an absent deny list (`not_types`,
 * `not_senders`) is empty. `limit` stays `undefined` when absent: the endpoint applying
 * the filter picks its own default and maximum, as the spec asks.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter
 */
export interface EventFilter {
  readonly limit: number | undefined;
  readonly types: readonly string[] | undefined;
  readonly notTypes: readonly string[];
  readonly senders: readonly string[] | undefined;
  readonly notSenders: readonly string[];
}

/**
 * A `RoomEventFilter`: an `EventFilter` plus rooms, `contains_url` and the lazy-loading
 * and thread notification flags (all `false` when absent; `contains_url` absent is
 * `undefined`, "not considered"). `unread_thread_notifications` was added in v1.4.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter_request_roomeventfilter
 */
export interface RoomEventFilter extends EventFilter {
  readonly rooms: readonly string[] | undefined;
  readonly notRooms: readonly string[];
  readonly containsUrl: boolean | undefined;
  readonly lazyLoadMembers: boolean;
  readonly includeRedundantMembers: boolean;
  readonly unreadThreadNotifications: boolean;
}

/**
 * The filter of `room.state`. In v1.19 its schema is exactly a `RoomEventFilter`; the
 * alias keeps call sites readable.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter_request_roomfilter
 */
export type StateFilter = RoomEventFilter;

/**
 * A `RoomFilter` (`room` of a filter definition): `rooms`/`not_rooms` apply before the
 * per-section filters; `include_leave` defaults to `false`.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter_request_roomfilter
 */
export interface RoomFilter {
  readonly rooms: readonly string[] | undefined;
  readonly notRooms: readonly string[];
  readonly includeLeave: boolean;
  readonly ephemeral: RoomEventFilter;
  readonly state: StateFilter;
  readonly timeline: RoomEventFilter;
  readonly accountData: RoomEventFilter;
}

/**
 * A whole filter definition, as `POST /user/{userId}/filter` takes it, normalised.
 * `eventFields` absent means every field; `eventFormat` defaults to `client`.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter
 */
export interface Filter {
  readonly eventFields: readonly string[] | undefined;
  readonly eventFormat: 'client' | 'federation';
  readonly presence: EventFilter;
  readonly accountData: EventFilter;
  readonly room: RoomFilter;
}

/**
 * Validates a filter definition against the spec's `Filter` schema and returns it
 * normalised. Wrong JSON types are `M_BAD_JSON`; out-of-range values (`limit` below 1, an
 * unknown `event_format`) are `M_INVALID_PARAM`; both with HTTP 400. Unknown keys are
 * ignored, as the spec allows extensions (the stored definition keeps them).
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#filtering
 */
export function parseFilter(json: unknown): Filter {
  const f = object(json, 'filter');
  const eventFormat = f['event_format'];
  if (eventFormat !== undefined) {
    if (typeof eventFormat !== 'string') bad('filter.event_format must be a string');
    if (eventFormat !== 'client' && eventFormat !== 'federation') invalid('filter.event_format must be "client" or "federation"');
  }
  const room = f['room'] === undefined ? {} : object(f['room'], 'filter.room');
  return {
    eventFields: stringList(f, 'event_fields', 'filter'),
    eventFormat: eventFormat ?? 'client',
    presence: eventFilter(f['presence'] ?? {}, 'filter.presence'),
    accountData: eventFilter(f['account_data'] ?? {}, 'filter.account_data'),
    room: {
      rooms: idList(room, 'rooms', 'filter.room', 'room'),
      notRooms: idList(room, 'not_rooms', 'filter.room', 'room') ?? [],
      includeLeave: boolean(room, 'include_leave', 'filter.room') ?? false,
      ephemeral: parseRoomEventFilter(room['ephemeral'] ?? {}, 'filter.room.ephemeral'),
      state: parseRoomEventFilter(room['state'] ?? {}, 'filter.room.state'),
      timeline: parseRoomEventFilter(room['timeline'] ?? {}, 'filter.room.timeline'),
      accountData: parseRoomEventFilter(room['account_data'] ?? {}, 'filter.room.account_data'),
    },
  };
}

/**
 * Validates and normalises a lone `RoomEventFilter`, such as the inline `filter` parameter
 * of `/messages` and `/context`, with the same errors as {@link parseFilter}. `path` names
 * the filter in error messages.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter_request_roomeventfilter
 */
export function parseRoomEventFilter(json: unknown, path = 'filter'): RoomEventFilter {
  const base = eventFilter(json, path);
  const o = json as Obj;
  return {
    ...base,
    rooms: idList(o, 'rooms', path, 'room'),
    notRooms: idList(o, 'not_rooms', path, 'room') ?? [],
    containsUrl: boolean(o, 'contains_url', path),
    lazyLoadMembers: boolean(o, 'lazy_load_members', path) ?? false,
    includeRedundantMembers: boolean(o, 'include_redundant_members', path) ?? false,
    unreadThreadNotifications: boolean(o, 'unread_thread_notifications', path) ?? false,
  };
}

/**
 * The empty filter definition `{}`, normalised: every event, room and field, client
 * format, no limits.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#filtering
 */
export const DEFAULT_FILTER: Filter = parseFilter({});

type Obj = Readonly<Record<string, unknown>>;

function bad(message: string): never {
  throw new MatrixError('M_BAD_JSON', message, 400);
}

function invalid(message: string): never {
  throw new MatrixError('M_INVALID_PARAM', message, 400);
}

function object(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(`${path} must be an object`);
  return value as Obj;
}

/** A list of strings, copied so the result shares nothing with the input. */
function stringList(o: Obj, key: string, path: string): string[] | undefined {
  const value = o[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) bad(`${path}.${key} must be a list of strings`);
  return [...(value as string[])];
}

/** A list of room IDs or user IDs (historical user IDs included); anything else is `M_INVALID_PARAM`. */
function idList(o: Obj, key: string, path: string, kind: 'room' | 'user'): string[] | undefined {
  const list = stringList(o, key, path);
  for (const id of list ?? []) {
    const parsed = kind === 'room' ? parseRoomId(id) : parseHistoricalUserId(id);
    if (!parsed.ok) invalid(`${path}.${key} must list ${kind} IDs; ${JSON.stringify(id)} is not one`);
  }
  return list;
}

function boolean(o: Obj, key: string, path: string): boolean | undefined {
  const value = o[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') bad(`${path}.${key} must be a boolean`);
  return value;
}

function eventFilter(value: unknown, path: string): EventFilter {
  const o = object(value, path);
  const limit = o['limit'];
  if (limit !== undefined) {
    if (typeof limit !== 'number' || !Number.isInteger(limit)) bad(`${path}.limit must be an integer`);
    if (limit < 1) invalid(`${path}.limit must be at least 1`);
  }
  return {
    limit: limit as number | undefined,
    types: stringList(o, 'types', path),
    notTypes: stringList(o, 'not_types', path) ?? [],
    senders: idList(o, 'senders', path, 'user'),
    notSenders: idList(o, 'not_senders', path, 'user') ?? [],
  };
}
