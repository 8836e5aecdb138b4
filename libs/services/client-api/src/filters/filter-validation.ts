import { MatrixError } from '@axon/matrix-errors';

/**
 * Checks a filter definition's shape against the spec's `Filter` schema (POST
 * /user/{userId}/filter): wrong JSON types are `M_BAD_JSON`, out-of-range values
 * (`limit` below 1, an unknown `event_format`) are `M_INVALID_PARAM`. Unknown keys are
 * kept, as the spec allows extensions. Throws; returns nothing.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#filtering
 */
export function validateFilter(filter: unknown): void {
  const f = object(filter, 'filter');
  optionalStringList(f, 'event_fields', 'filter');
  if (f['event_format'] !== undefined) {
    if (typeof f['event_format'] !== 'string') bad('filter.event_format must be a string');
    if (f['event_format'] !== 'client' && f['event_format'] !== 'federation') invalid('filter.event_format must be "client" or "federation"');
  }
  if (f['presence'] !== undefined) eventFilter(f['presence'], 'filter.presence');
  if (f['account_data'] !== undefined) eventFilter(f['account_data'], 'filter.account_data');
  if (f['room'] !== undefined) {
    const room = object(f['room'], 'filter.room');
    optionalStringList(room, 'rooms', 'filter.room');
    optionalStringList(room, 'not_rooms', 'filter.room');
    optionalBoolean(room, 'include_leave', 'filter.room');
    for (const key of ['ephemeral', 'state', 'timeline', 'account_data'] as const) {
      if (room[key] !== undefined) roomEventFilter(room[key], `filter.room.${key}`);
    }
  }
}

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

function optionalStringList(o: Obj, key: string, path: string): void {
  const value = o[key];
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) bad(`${path}.${key} must be a list of strings`);
}

function optionalBoolean(o: Obj, key: string, path: string): void {
  if (o[key] !== undefined && typeof o[key] !== 'boolean') bad(`${path}.${key} must be a boolean`);
}

function eventFilter(value: unknown, path: string): Obj {
  const o = object(value, path);
  for (const key of ['types', 'not_types', 'senders', 'not_senders']) optionalStringList(o, key, path);
  const limit = o['limit'];
  if (limit !== undefined) {
    if (typeof limit !== 'number' || !Number.isInteger(limit)) bad(`${path}.limit must be an integer`);
    if (limit < 1) invalid(`${path}.limit must be at least 1`);
  }
  return o;
}

function roomEventFilter(value: unknown, path: string): void {
  const o = eventFilter(value, path);
  optionalStringList(o, 'rooms', path);
  optionalStringList(o, 'not_rooms', path);
  for (const key of ['contains_url', 'include_redundant_members', 'lazy_load_members', 'unread_thread_notifications']) optionalBoolean(o, key, path);
}
