import { jsonCodec } from './codec';
import { defineTopic } from './topic';

/**
 * The EDU topics: facts that are not room events. Receipts, to-device messages and device
 * list changes are durable (a consumer that is behind must still see them); typing and
 * presence are ephemeral (short retention, never part of the durable room log,
 * ARCHITECTURE.md §2.6). Each payload is whole, so applying a message twice is harmless.
 */

type Json = Record<string, unknown>;

function record(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${what}: not an object`);
  return value as Json;
}

function strings(o: Json, what: string, ...keys: string[]): void {
  for (const key of keys) if (typeof o[key] !== 'string' || o[key] === '') throw new TypeError(`${what}: ${key} must be a non-empty string`);
}

function finiteNumbers(o: Json, what: string, ...keys: string[]): void {
  for (const key of keys) if (typeof o[key] !== 'number' || !Number.isFinite(o[key])) throw new TypeError(`${what}: ${key} must be a number`);
}

/** The receipt types a client may send (`m.fully_read` is account data, not a receipt). */
export const RECEIPT_TYPES = ['m.read', 'm.read.private'] as const;
export type ReceiptType = (typeof RECEIPT_TYPES)[number];

/**
 * `hs.edu.receipt.v1`: `user_id` read up to `event_id` in `room_id` (`thread_id` absent for
 * an unthreaded receipt, `main` or a thread root's event ID otherwise) at `ts`.
 */
export interface ReceiptUpdate {
  readonly room_id: string;
  readonly user_id: string;
  readonly receipt_type: ReceiptType;
  readonly event_id: string;
  readonly thread_id?: string;
  readonly ts: number;
}

function validateReceipt(value: unknown): ReceiptUpdate {
  const o = record(value, 'receipt');
  strings(o, 'receipt', 'room_id', 'user_id', 'event_id');
  finiteNumbers(o, 'receipt', 'ts');
  if (!(RECEIPT_TYPES as readonly unknown[]).includes(o['receipt_type'])) throw new TypeError('receipt: unknown receipt_type');
  if (o['thread_id'] !== undefined) strings(o, 'receipt', 'thread_id');
  return o as unknown as ReceiptUpdate;
}

/** `hs.edu.receipt.v1`, keyed by room: each room's receipts in order. */
export const receiptTopic = defineTopic<ReceiptUpdate>({ name: 'hs.edu.receipt.v1', partitions: 8, key: (update) => update.room_id, codec: jsonCodec(validateReceipt) });

/**
 * `hs.edu.typing.v1`: `user_id` is typing in `room_id` until `expires_at` (milliseconds
 * since the epoch), or stopped (`typing` false). A stop that only ends a timeout carries
 * the `expires_at` it ends, so a later refresh of the same typing is not undone by it.
 */
export interface TypingUpdate {
  readonly room_id: string;
  readonly user_id: string;
  readonly typing: boolean;
  readonly expires_at: number;
}

function validateTyping(value: unknown): TypingUpdate {
  const o = record(value, 'typing');
  strings(o, 'typing', 'room_id', 'user_id');
  finiteNumbers(o, 'typing', 'expires_at');
  if (typeof o['typing'] !== 'boolean') throw new TypeError('typing: typing must be a boolean');
  return o as unknown as TypingUpdate;
}

/** `hs.edu.typing.v1`, keyed by room, ephemeral. */
export const typingTopic = defineTopic<TypingUpdate>({
  name: 'hs.edu.typing.v1',
  partitions: 4,
  key: (update) => update.room_id,
  codec: jsonCodec(validateTyping),
  retention: 'ephemeral',
});

export const PRESENCE_STATES = ['online', 'unavailable', 'offline'] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];

/**
 * `hs.edu.presence.v1`: `user_id`'s presence is now `presence`, last active at
 * `last_active_ts`. `status_msg` present (a string, or null to clear it) sets the status
 * message; absent keeps the one there is.
 */
export interface PresenceUpdate {
  readonly user_id: string;
  readonly presence: PresenceState;
  readonly status_msg?: string | null;
  readonly last_active_ts: number;
  readonly currently_active: boolean;
}

function validatePresence(value: unknown): PresenceUpdate {
  const o = record(value, 'presence');
  strings(o, 'presence', 'user_id');
  finiteNumbers(o, 'presence', 'last_active_ts');
  if (!(PRESENCE_STATES as readonly unknown[]).includes(o['presence'])) throw new TypeError('presence: unknown presence state');
  if (typeof o['currently_active'] !== 'boolean') throw new TypeError('presence: currently_active must be a boolean');
  if (o['status_msg'] !== undefined && o['status_msg'] !== null && typeof o['status_msg'] !== 'string') throw new TypeError('presence: status_msg must be a string or null');
  return o as unknown as PresenceUpdate;
}

/** `hs.edu.presence.v1`, keyed by user, ephemeral. */
export const presenceTopic = defineTopic<PresenceUpdate>({
  name: 'hs.edu.presence.v1',
  partitions: 8,
  key: (update) => update.user_id,
  codec: jsonCodec(validatePresence),
  retention: 'ephemeral',
});

/**
 * `hs.todevice.v1`: one `sendToDevice` request's messages for one recipient user, by
 * device ID (`*` already expanded to the user's devices by the sender's service).
 * `message_id` is the same for a retried request, so a recipient device gets it once.
 */
export interface ToDeviceMessages {
  readonly recipient: string;
  readonly sender: string;
  readonly type: string;
  readonly message_id: string;
  readonly messages: Readonly<Record<string, Json>>;
}

function validateToDevice(value: unknown): ToDeviceMessages {
  const o = record(value, 'to-device');
  strings(o, 'to-device', 'recipient', 'sender', 'type', 'message_id');
  const messages = record(o['messages'], 'to-device messages');
  for (const content of Object.values(messages)) record(content, 'to-device content');
  return o as unknown as ToDeviceMessages;
}

/** `hs.todevice.v1`, keyed by recipient user: each inbox in order. */
export const toDeviceTopic = defineTopic<ToDeviceMessages>({ name: 'hs.todevice.v1', partitions: 8, key: (message) => message.recipient, codec: jsonCodec(validateToDevice) });

/** `hs.device-list.v1`: `user_id`'s device `device_id` was added, updated or removed. */
export interface DeviceListChange {
  readonly user_id: string;
  readonly device_id: string;
  readonly change: 'added' | 'updated' | 'removed';
}

function validateDeviceListChange(value: unknown): DeviceListChange {
  const o = record(value, 'device list change');
  strings(o, 'device list change', 'user_id', 'device_id');
  if (!['added', 'updated', 'removed'].includes(o['change'] as string)) throw new TypeError('device list change: unknown change');
  return o as unknown as DeviceListChange;
}

/** `hs.device-list.v1`, keyed by user. */
export const deviceListTopic = defineTopic<DeviceListChange>({ name: 'hs.device-list.v1', partitions: 8, key: (change) => change.user_id, codec: jsonCodec(validateDeviceListChange) });
