import type { Brand } from './brand';
import { splitParsedIdentifier, splitSigilledIdentifier } from './common-identifier';
import { err, ok, type Result } from '@axon/matrix-errors';
import type { ServerName } from './server-name';

/**
 * A room alias, `#room_alias:domain`.
 * Spec: https://spec.matrix.org/v1.19/appendices/#room-aliases
 */
export type RoomAlias = Brand<string, 'RoomAlias'>;

/**
 * Parses a room alias. The localpart may hold any non-surrogate code points except `:`
 * and NUL; it must not be empty (the spec does not say; an alias is a name people type,
 * and `#:server` names nothing). The whole alias must not exceed 255 bytes.
 * Spec: https://spec.matrix.org/v1.19/appendices/#room-aliases
 */
export function parseRoomAlias(input: string): Result<RoomAlias> {
  const parts = splitSigilledIdentifier(input, '#', 'room alias');
  if (typeof parts === 'string') return err(parts);
  if (parts.localpart === '') return err('room alias localpart is empty');
  return ok(input as RoomAlias);
}

/**
 * The localpart of a room alias (without `#`).
 * Spec: https://spec.matrix.org/v1.19/appendices/#room-aliases
 */
export function getRoomAliasLocalpart(alias: RoomAlias): string {
  return splitParsedIdentifier(alias).localpart;
}

/**
 * The server name of the homeserver that created the alias, which other servers ask to
 * resolve it.
 * Spec: https://spec.matrix.org/v1.19/appendices/#room-aliases
 */
export function getRoomAliasServerName(alias: RoomAlias): ServerName {
  return splitParsedIdentifier(alias).serverName;
}
