import { createHmac } from 'node:crypto';

/** The body of `GET /voip/turnServer` when a TURN server is configured. */
export interface TurnServerCredentials {
  username: string;
  password: string;
  uris: string[];
  /** Seconds the credentials stay valid. */
  ttl: number;
}

export interface TurnSettings {
  readonly uris: readonly string[];
  readonly shared_secret?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly user_lifetime_ms: number;
}

/**
 * TURN credentials for `userId` at `nowMs`, as Synapse hands them out: with a shared
 * secret, the TURN REST API scheme coturn implements (`use-auth-secret`): the username
 * `<expiry in seconds>:<user ID>` and the password Base64(HMAC-SHA1(secret, username)),
 * which the TURN server recomputes and accepts until the expiry; otherwise the fixed
 * username and password. `undefined` when no TURN server is configured (the endpoint
 * then answers `{}`).
 */
export function turnCredentials(settings: TurnSettings, userId: string, nowMs: number): TurnServerCredentials | undefined {
  if (settings.uris.length === 0) return undefined;
  const ttl = Math.floor(settings.user_lifetime_ms / 1000);
  if (settings.shared_secret !== undefined) {
    const username = `${Math.floor((nowMs + settings.user_lifetime_ms) / 1000)}:${userId}`;
    const password = createHmac('sha1', settings.shared_secret).update(username, 'utf8').digest('base64');
    return { username, password, uris: [...settings.uris], ttl };
  }
  if (settings.username !== undefined && settings.password !== undefined) {
    return { username: settings.username, password: settings.password, uris: [...settings.uris], ttl };
  }
  return undefined;
}
