import type { Brand } from './brand';
import { err, ok, type Result } from '@axon/matrix-errors';
import { measureUtf8Bytes } from './unicode';

/**
 * A device ID: an opaque string chosen by the homeserver (legacy login) or the client
 * (OAuth 2.0 login, where it travels in a scope token).
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#device-id-allocation
 */
export type DeviceId = Brand<string, 'DeviceId'>;

const UNRESERVED = /^[A-Za-z0-9._~-]+$/;
const OAUTH_SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Parses a device ID. The spec gives no grammar and no length limit for the legacy
 * login APIs, so any non-empty string of non-surrogate code points without NUL is
 * accepted. {@link isOAuthDeviceId} and {@link isRecommendedDeviceId} check the
 * narrower OAuth rules.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#device-id-allocation
 */
export function parseDeviceId(input: string): Result<DeviceId> {
  if (input === '') return err('device ID is empty');
  if (measureUtf8Bytes(input) === undefined) return err('device ID contains a lone surrogate');
  if (input.includes('\u0000')) return err('device ID contains NUL');
  return ok(input as DeviceId);
}

/**
 * Whether a device ID may appear in an OAuth 2.0 `urn:matrix:client:device:` scope:
 * it MUST use only RFC 6749 scope-token characters (`%x21 / %x23-5B / %x5D-7E`).
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#device-id-allocation
 */
export function isOAuthDeviceId(deviceId: DeviceId): boolean {
  return OAUTH_SCOPE_TOKEN.test(deviceId);
}

/**
 * Whether a device ID uses only RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`),
 * which clients SHOULD use when generating one; a homeserver MAY refuse others.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#device-id-allocation
 */
export function isRecommendedDeviceId(deviceId: DeviceId): boolean {
  return UNRESERVED.test(deviceId);
}
