import type { Brand } from './brand';
import { splitParsedIdentifier, splitSigilledIdentifier } from './common-identifier';
import { err, ok, type Result } from '@axon/matrix-errors';
import type { ServerName } from './server-name';

/**
 * A Matrix user ID, `@localpart:domain`. Parsed either under the current grammar
 * ({@link parseUserId}) or the wider historical one ({@link parseHistoricalUserId}).
 * Spec: https://spec.matrix.org/v1.19/appendices/#user-identifiers
 */
export type UserId = Brand<string, 'UserId'>;

/**
 * Which grammar a user ID's localpart meets:
 *
 * - `current`: `a-z 0-9 . _ = - / +`, non-empty (changed in spec v1.8);
 * - `historical`: printable ASCII U+0021 to U+007E except `:`, outside the current set
 *   (upper-case letters, for instance). Accepted, deprecated, never to be created;
 * - `non-compliant`: empty, or holds code points outside U+0021 to U+007E. Servers must
 *   accept such IDs in events over federation but SHOULD NOT forward them to clients
 *   outside an event (device list updates from them are dropped, for example).
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#historical-user-ids
 */
export type UserIdGrammar = 'current' | 'historical' | 'non-compliant';

const CURRENT_LOCALPART = /^[a-z0-9._=\-/+]+$/;
const PRINTABLE_ASCII_LOCALPART = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * Parses a user ID under the current grammar: the only form this server may create,
 * and the form to require of users registering or being named by local clients.
 * Enforces the 255-byte limit (bytes, sigil and domain included).
 * Spec: https://spec.matrix.org/v1.19/appendices/#user-identifiers
 */
export function parseUserId(input: string): Result<UserId> {
  const parsed = parseHistoricalUserId(input);
  if (!parsed.ok) return parsed;
  if (getUserIdGrammar(parsed.value) !== 'current') {
    return err('user ID localpart may only contain a-z, 0-9, ".", "_", "=", "-", "/" and "+"');
  }
  return parsed;
}

/**
 * Parses a user ID as servers MUST accept it from other servers: the localpart may be
 * any non-surrogate code points except `:` and NUL, including the empty string. Use
 * {@link getUserIdGrammar} to tell such IDs apart before creating, or forwarding to
 * clients, anything outside an event. The 255-byte limit still applies.
 * Spec: https://spec.matrix.org/v1.19/appendices/#historical-user-ids
 */
export function parseHistoricalUserId(input: string): Result<UserId> {
  const parts = splitSigilledIdentifier(input, '@', 'user ID');
  return typeof parts === 'string' ? err(parts) : ok(input as UserId);
}

/**
 * Builds a user ID for this server from a localpart, under the current grammar.
 * Spec: https://spec.matrix.org/v1.19/appendices/#user-identifiers
 */
export function composeUserId(localpart: string, serverName: ServerName): Result<UserId> {
  if (!CURRENT_LOCALPART.test(localpart)) {
    return err('user ID localpart may only contain a-z, 0-9, ".", "_", "=", "-", "/" and "+"');
  }
  return parseUserId(`@${localpart}:${serverName}`);
}

/**
 * Which grammar the user ID's localpart meets.
 * Spec: https://spec.matrix.org/v1.19/appendices/#historical-user-ids
 */
export function getUserIdGrammar(userId: UserId): UserIdGrammar {
  const { localpart } = splitParsedIdentifier(userId);
  if (CURRENT_LOCALPART.test(localpart)) return 'current';
  if (PRINTABLE_ASCII_LOCALPART.test(localpart)) return 'historical';
  return 'non-compliant';
}

/**
 * The localpart of a user ID (without `@`).
 * Spec: https://spec.matrix.org/v1.19/appendices/#user-identifiers
 */
export function getUserIdLocalpart(userId: UserId): string {
  return splitParsedIdentifier(userId).localpart;
}

/**
 * The server name of the homeserver that allocated the user ID.
 * Spec: https://spec.matrix.org/v1.19/appendices/#user-identifiers
 */
export function getUserIdServerName(userId: UserId): ServerName {
  return splitParsedIdentifier(userId).serverName;
}
