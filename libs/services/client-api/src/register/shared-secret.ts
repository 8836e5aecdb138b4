import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SharedSecretRegistration {
  readonly nonce: string;
  readonly username: string;
  readonly password: string;
  readonly admin: boolean;
}

/**
 * Synapse's shared-secret registration MAC: hex HMAC-SHA1 keyed with the shared secret
 * over `nonce NUL username NUL password NUL ("admin" | "notadmin")`.
 * https://element-hq.github.io/synapse/latest/admin_api/register_api.html
 */
export function computeRegistrationMac(secret: string, request: SharedSecretRegistration): string {
  const hmac = createHmac('sha1', Buffer.from(secret, 'utf8'));
  hmac.update(Buffer.from(request.nonce, 'utf8'));
  hmac.update(Buffer.from([0]));
  hmac.update(Buffer.from(request.username, 'utf8'));
  hmac.update(Buffer.from([0]));
  hmac.update(Buffer.from(request.password, 'utf8'));
  hmac.update(Buffer.from([0]));
  hmac.update(request.admin ? 'admin' : 'notadmin');
  return hmac.digest('hex');
}

/** Compares the client's MAC with the expected one in constant time (a malformed MAC is simply wrong). */
export function isRegistrationMacValid(secret: string, request: SharedSecretRegistration, mac: string): boolean {
  const expected = Buffer.from(computeRegistrationMac(secret, request), 'utf8');
  const given = Buffer.from(mac.toLowerCase(), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
