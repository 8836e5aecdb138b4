import { MatrixError } from '@axon/matrix-errors';
import { parseDeviceId, type DeviceId } from '@axon/matrix-identifiers';
import { optionalString, type JsonObject } from '@axon/platform-http';

/**
 * The `device_id` a client chose at login or registration, if any. The spec leaves a
 * device ID opaque; we keep it printable and bounded, since it ends up in keys, logs and
 * other users' device lists.
 */
export function optionalDeviceId(body: JsonObject): DeviceId | undefined {
  const deviceId = optionalString(body, 'device_id');
  if (deviceId === undefined) return undefined;
  const parsed = parseDeviceId(deviceId);
  if (!parsed.ok || !/^[\x21-\x7e]{1,255}$/.test(deviceId)) throw new MatrixError('M_INVALID_PARAM', 'Invalid device_id', 400);
  return parsed.value;
}
