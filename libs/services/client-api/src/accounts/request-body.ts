import { MatrixError } from '@axon/matrix-errors';

export type JsonObject = Readonly<Record<string, unknown>>;

/**
 * The request body as a JSON object (an absent body counts as `{}`). Valid JSON that is
 * not an object is `M_BAD_JSON` ("valid JSON, but malformed"); unparseable bodies were
 * already refused as `M_NOT_JSON` by the HTTP layer.
 */
export function objectBody(body: unknown): JsonObject {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new MatrixError('M_BAD_JSON', 'The body must be a JSON object', 400);
  return body as JsonObject;
}

export function optionalString(body: JsonObject, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new MatrixError('M_BAD_JSON', `"${key}" must be a string`, 400);
  return value;
}

export function requiredString(body: JsonObject, key: string): string {
  const value = optionalString(body, key);
  if (value === undefined) throw new MatrixError('M_MISSING_PARAM', `Missing "${key}"`, 400);
  return value;
}

export function optionalBoolean(body: JsonObject, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new MatrixError('M_BAD_JSON', `"${key}" must be a boolean`, 400);
  return value;
}

/** A device ID a client chose: the spec leaves it opaque; we keep it printable and bounded. */
export function optionalDeviceId(body: JsonObject): string | undefined {
  const deviceId = optionalString(body, 'device_id');
  if (deviceId !== undefined && !/^[\x21-\x7e]{1,255}$/.test(deviceId)) throw new MatrixError('M_INVALID_PARAM', 'Invalid device_id', 400);
  return deviceId;
}
