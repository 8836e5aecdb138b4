import { createHash, randomBytes } from 'node:crypto';
import type { DeviceId } from '@axon/matrix-identifiers';

/** A new opaque token: a prefix naming its kind and 32 random bytes (URL-safe Base64). */
export function generateToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** What the database stores instead of a token: its SHA-256, in hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A device ID for devices the client did not name: ten upper-case letters, as Synapse does (a valid device ID, made here). */
export function generateDeviceId(): DeviceId {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return Array.from(randomBytes(10), (b) => letters[b % 26]).join('') as DeviceId;
}
