import { getUserIdServerName, parseHistoricalUserId, type ServerName, type UserId } from '@axon/matrix-identifiers';

/** The fields of a PDU that decide where it goes. */
export interface PduRouting {
  readonly sender: string;
  readonly type: string;
  readonly state_key?: string;
}

/** The server of a user ID, or undefined for a string that is not one. */
export function serverOfUser(userId: string): ServerName | undefined {
  const parsed = parseHistoricalUserId(userId);
  return parsed.ok ? getUserIdServerName(parsed.value) : undefined;
}

/** The user ID, parsed, when it is one of `local`'s users. */
export function localUser(userId: string, local: ServerName): UserId | undefined {
  const parsed = parseHistoricalUserId(userId);
  return parsed.ok && getUserIdServerName(parsed.value) === local ? parsed.value : undefined;
}

/**
 * Where a PDU of this server goes: every server with a member joined to the room at the
 * event (`joinedServers`), and for a membership event about a remote user (an invite,
 * a kick or ban, the answer to a knock) that user's server too, which may have no one
 * joined and must still learn of it. Never this server. A PDU another server sent goes
 * nowhere (its origin sends it, and every server in the room fetches what it misses),
 * unless this server took it as the resident of a membership handshake (`relayedFor`,
 * the server that made it): then to every server in the room but that one.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#transactions
 */
export function pduDestinations(pdu: PduRouting, joinedServers: Iterable<ServerName>, local: ServerName, relayedFor?: string): ServerName[] {
  if (serverOfUser(pdu.sender) !== local && relayedFor === undefined) return [];
  const destinations = new Set(joinedServers);
  if (pdu.type === 'm.room.member' && pdu.state_key !== undefined) {
    const target = serverOfUser(pdu.state_key);
    if (target !== undefined) destinations.add(target);
  }
  // A membership handshake's event, sent on for the server that made it: it has it.
  if (relayedFor !== undefined) destinations.delete(relayedFor as ServerName);
  destinations.delete(local);
  return [...destinations].sort();
}

/** The servers of the users of member events' state keys (an unparsable key is no server). */
export function serversOfMembers(stateKeys: Iterable<string>): Set<ServerName> {
  const servers = new Set<ServerName>();
  for (const key of stateKeys) {
    const server = serverOfUser(key);
    if (server !== undefined) servers.add(server);
  }
  return servers;
}
