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

/** What {@link registerWithSharedSecret} sends. */
export interface SharedSecretAccount {
  readonly username: string;
  readonly password: string;
  readonly admin: boolean;
  readonly displayName?: string;
}

/** A failed shared-secret registration: the server's Matrix error, or why it could not be asked. */
export class SharedSecretRegistrationError extends Error {
  constructor(
    message: string,
    readonly errcode?: string,
  ) {
    super(message);
    this.name = 'SharedSecretRegistrationError';
  }
}

/**
 * The client side of `/_synapse/admin/v1/register` (what Synapse's `register_new_matrix_user`
 * does): fetches a nonce, signs the request with the shared secret and registers. Used by
 * `npm run create-user`.
 */
export async function registerWithSharedSecret(
  baseUrl: string,
  secret: string,
  account: SharedSecretAccount,
): Promise<{ user_id: string; home_server: string }> {
  const url = new URL('/_synapse/admin/v1/register', baseUrl);
  const call = async (init?: RequestInit): Promise<Record<string, unknown>> => {
    let response: Response;
    try {
      response = await fetch(url, { ...init, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new SharedSecretRegistrationError(`could not reach the homeserver at ${url.origin} (${(err as Error).message}); is it running?`);
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const errcode = typeof body['errcode'] === 'string' ? body['errcode'] : undefined;
      const error = typeof body['error'] === 'string' ? body['error'] : `HTTP ${response.status}`;
      throw new SharedSecretRegistrationError(`${errcode ?? 'error'}: ${error}`, errcode);
    }
    return body;
  };
  const { nonce } = await call();
  if (typeof nonce !== 'string') throw new SharedSecretRegistrationError('the homeserver sent no nonce');
  const mac = computeRegistrationMac(secret, { nonce, username: account.username, password: account.password, admin: account.admin });
  const registered = await call({
    method: 'POST',
    body: JSON.stringify({
      nonce,
      username: account.username,
      password: account.password,
      admin: account.admin,
      mac,
      ...(account.displayName === undefined ? {} : { displayname: account.displayName }),
    }),
  });
  // The registration logged a device in; the account's owner signs in from a client of
  // their own, so that session is ended rather than left in their device list.
  if (typeof registered['access_token'] === 'string') {
    await fetch(new URL('/_matrix/client/v3/logout', baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${registered['access_token']}`, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(30_000),
    }).catch(() => undefined);
  }
  return { user_id: String(registered['user_id']), home_server: String(registered['home_server']) };
}
