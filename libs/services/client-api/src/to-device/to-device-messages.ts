import { createHash } from 'node:crypto';
import { MatrixError } from '@axon/matrix-errors';
import { parseHistoricalUserId } from '@axon/matrix-identifiers';

type Json = Record<string, unknown>;

/** `messages` of a `sendToDevice` request: recipient user ID → device ID (or `*`) → content. */
export type ToDeviceRequest = ReadonlyMap<string, ReadonlyMap<string, Json>>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates the body of `PUT /sendToDevice/{eventType}/{txnId}`: `messages` must be an
 * object of user IDs to objects of device IDs to content objects (`M_BAD_JSON`); the
 * keys must be user IDs and non-empty device IDs (`M_INVALID_PARAM`).
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3sendtodeviceeventtypetxnid
 */
export function parseToDeviceRequest(body: Readonly<Json>): ToDeviceRequest {
  const messages = body['messages'];
  if (!isObject(messages)) throw new MatrixError('M_BAD_JSON', '"messages" must be an object of user IDs to device messages', 400);
  const parsed = new Map<string, Map<string, Json>>();
  for (const [userId, devices] of Object.entries(messages)) {
    if (!parseHistoricalUserId(userId).ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(userId)} is not a user ID`, 400);
    if (!isObject(devices)) throw new MatrixError('M_BAD_JSON', `messages for ${userId} must be an object of device IDs to content`, 400);
    const byDevice = new Map<string, Json>();
    for (const [deviceId, content] of Object.entries(devices)) {
      if (deviceId === '') throw new MatrixError('M_INVALID_PARAM', `an empty device ID for ${userId}`, 400);
      if (!isObject(content)) throw new MatrixError('M_BAD_JSON', `the content for ${userId}'s device ${deviceId} must be an object`, 400);
      byDevice.set(deviceId, content);
    }
    parsed.set(userId, byDevice);
  }
  return parsed;
}

/**
 * One recipient's messages with `*` expanded to `devices` (the recipient's current
 * devices). A message named for a device wins over `*` for that device; messages for
 * devices the recipient does not have are dropped, as no device could ever fetch them.
 */
export function expandDevices(byDevice: ReadonlyMap<string, Json>, devices: readonly string[]): Record<string, Json> {
  const expanded: Record<string, Json> = {};
  const all = byDevice.get('*');
  for (const deviceId of devices) {
    const content = byDevice.get(deviceId) ?? all;
    if (content !== undefined) expanded[deviceId] = content;
  }
  return expanded;
}

/**
 * The `message_id` of a request's messages for one recipient: the same for a retried
 * request (same sender device, event type and transaction ID), so sync, which keeps one
 * copy per `message_id`, delivers a retry once.
 */
export function toDeviceMessageId(sender: { userId: string; deviceId: string }, eventType: string, txnId: string, recipient: string): string {
  return createHash('sha256').update(['sendToDevice', sender.userId, sender.deviceId, eventType, txnId, recipient].join('\0')).digest('base64url');
}
