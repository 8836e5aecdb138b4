import type { JsonObject } from '@axon/matrix-canonical-json';

/**
 * Glob-style matching: `*` matches zero or more characters, `?` exactly one; everything
 * else literally (server names compared case-insensitively, as DNS names are).
 * Spec: https://spec.matrix.org/v1.19/appendices/#glob-style-matching
 */
function globMatches(pattern: string, value: string): boolean {
  const source = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, 'is').test(value);
}

/** The host of a server name, its port left out (IPv6 literals keep their brackets). */
function hostOf(serverName: string): string {
  if (serverName.startsWith('[')) return serverName.slice(0, serverName.indexOf(']') + 1);
  const colon = serverName.lastIndexOf(':');
  return colon === -1 ? serverName : serverName.slice(0, colon);
}

const isIpLiteral = (host: string): boolean => host.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);

const patterns = (value: unknown): string[] => (Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string') : []);

/**
 * Whether a room's server ACL (`m.room.server_acl` content; undefined when the room has
 * none) lets `serverName` take part, in the spec's order: no ACL allows; an IP literal is
 * denied when `allow_ip_literals` is `false`; a `deny` match denies; an `allow` match
 * allows; anything else is denied. The port is never considered.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroomserver_acl
 */
export function isServerAllowedByAcl(acl: JsonObject | undefined, serverName: string): boolean {
  if (acl === undefined) return true;
  const host = hostOf(serverName);
  if (acl['allow_ip_literals'] === false && isIpLiteral(host)) return false;
  if (patterns(acl['deny']).some((pattern) => globMatches(pattern, host))) return false;
  return patterns(acl['allow']).some((pattern) => globMatches(pattern, host));
}
