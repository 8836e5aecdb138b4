import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/**
 * An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) reaches the IPv4 host, so it is
 * judged as that IPv4 address; a range written that way becomes the IPv4 range.
 */
function toIpv4IfMapped(address: Address, prefix?: number): Range {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && (prefix === undefined || prefix >= 96)) {
    return [(address as ipaddr.IPv6).toIPv4Address(), prefix === undefined ? 32 : prefix - 96];
  }
  return [address, prefix ?? (address.kind() === 'ipv4' ? 32 : 128)];
}

function parseRanges(ranges: readonly string[], key: string, problems: string[]): Range[] {
  const parsed: Range[] = [];
  for (const text of ranges) {
    try {
      parsed.push(text.includes('/') ? toIpv4IfMapped(...ipaddr.parseCIDR(text)) : toIpv4IfMapped(ipaddr.parse(text)));
    } catch (error) {
      problems.push(`${key}: "${text}" is not an IP address or CIDR range (${(error as Error).message})`);
    }
  }
  return parsed;
}

function matchesAny(address: Address, ranges: readonly Range[]): boolean {
  return ranges.some(([network, prefix]) => network.kind() === address.kind() && address.match(network, prefix));
}

/**
 * Which addresses outbound federation may connect to: every address is refused that a
 * `blacklist` range holds and no `whitelist` range does (Synapse's
 * `ip_range_blacklist` / `ip_range_whitelist`). The defaults keep a remote server name
 * from pointing this server at its own network (loopback, private and link-local
 * ranges). IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export class IpRangeFilter {
  private readonly blacklist: readonly Range[];
  private readonly whitelist: readonly Range[];

  /** Throws one error naming every range that does not parse. */
  constructor(options: { readonly blacklist: readonly string[]; readonly whitelist: readonly string[] }) {
    const problems: string[] = [];
    this.blacklist = parseRanges(options.blacklist, 'federation.client.ip_range_blacklist', problems);
    this.whitelist = parseRanges(options.whitelist, 'federation.client.ip_range_whitelist', problems);
    if (problems.length > 0) throw new Error(problems.join('; '));
  }

  /** Whether `address` (an IP literal, IPv6 without brackets) may be connected to. Anything else is refused. */
  allows(address: string): boolean {
    // node:net's check: only the usual notations (ipaddr.js would also read `127.1`).
    if (isIP(address) === 0) return false;
    const [parsed] = toIpv4IfMapped(ipaddr.parse(address));
    return !matchesAny(parsed, this.blacklist) || matchesAny(parsed, this.whitelist);
  }
}
