import { MatrixError } from '@axon/matrix-errors';
import { composeUserId, getUserIdServerName, parseHistoricalUserId, parseServerName, getUserIdLocalpart, type UserId } from '@axon/matrix-identifiers';

/**
 * The user ID a registration's `username` asks for, under the current grammar
 * (`a-z 0-9 . _ = - / +`, 255 bytes with sigil and server name), or `M_INVALID_USERNAME`.
 * Capital ASCII letters are taken as their lower-case ones (as Synapse does, and as login
 * matches user IDs), since the grammar has no capitals.
 * Spec: POST /register ("username"), appendix "User Identifiers".
 */
export function userIdForUsername(username: string, serverName: string): UserId {
  const server = parseServerName(serverName);
  if (!server.ok) throw new Error(`server_name ${serverName} is not a server name`);
  if (username === '') throw new MatrixError('M_INVALID_USERNAME', 'The username must not be empty', 400);
  const composed = composeUserId(username.replace(/[A-Z]/g, (letter) => letter.toLowerCase()), server.value);
  if (!composed.ok) throw new MatrixError('M_INVALID_USERNAME', `Invalid username: ${composed.error}`, 400);
  return composed.value;
}

/**
 * The local user a login names: an `m.id.user` identifier (or the legacy top-level
 * `user` field) holding a localpart or a full user ID, matched case-insensitively as
 * user IDs created here are lower-case. `undefined` when it names no possible local user.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#matrix-user-id
 */
export function userIdForLogin(user: string, serverName: string): UserId | undefined {
  if (user.startsWith('@')) {
    const parsed = parseHistoricalUserId(user);
    if (!parsed.ok || getUserIdServerName(parsed.value) !== serverName) return undefined;
    user = getUserIdLocalpart(parsed.value);
  }
  try {
    return userIdForUsername(user.toLowerCase(), serverName);
  } catch (error) {
    if (error instanceof MatrixError) return undefined;
    throw error;
  }
}

/**
 * The user named by a login or UIA `m.login.password` body: its `identifier`, or the
 * legacy `user` field. Third-party identifiers cannot match anyone (this server stores no
 * 3PIDs), so they fail like unknown ones: 403 `M_FORBIDDEN`, as the spec asks for an
 * unknown 3PID. A malformed identifier is `M_BAD_JSON`/`M_UNKNOWN` (400).
 */
export function userIdFromIdentifier(body: Readonly<Record<string, unknown>>, serverName: string): UserId | undefined {
  const identifier = body['identifier'];
  if (identifier === undefined) {
    if (typeof body['user'] === 'string') return userIdForLogin(body['user'], serverName);
    if (typeof body['medium'] === 'string' && typeof body['address'] === 'string') return undefined;
    throw new MatrixError('M_BAD_JSON', 'Missing "identifier"', 400);
  }
  if (typeof identifier !== 'object' || identifier === null || Array.isArray(identifier)) {
    throw new MatrixError('M_BAD_JSON', '"identifier" must be an object', 400);
  }
  const id = identifier as Record<string, unknown>;
  switch (id['type']) {
    case 'm.id.user':
      if (typeof id['user'] !== 'string') throw new MatrixError('M_BAD_JSON', '"identifier.user" must be a string', 400);
      return userIdForLogin(id['user'], serverName);
    case 'm.id.thirdparty':
    case 'm.id.phone':
      return undefined;
    default:
      throw new MatrixError('M_UNKNOWN', 'Unknown login identifier type', 400);
  }
}
