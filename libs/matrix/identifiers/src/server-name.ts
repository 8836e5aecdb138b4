import type { Brand } from './brand';
import { err, ok, type Result } from '@axon/matrix-errors';

/**
 * A homeserver's server name: `hostname [ ":" port ]`. Compared case-sensitively, as
 * the spec requires (`matrix.org` and `MATRIX.ORG` are different servers), so it is
 * never case-folded here.
 * Spec: https://spec.matrix.org/v1.19/appendices/#server-name
 */
export type ServerName = Brand<string, 'ServerName'>;

/**
 * How the hostname of a server name is written.
 * Spec: https://spec.matrix.org/v1.19/appendices/#server-name
 */
export type ServerNameHostKind = 'dns' | 'ipv4' | 'ipv6';

/**
 * The parts of a server name. `host` is the hostname as written, except that an IPv6
 * literal is given without its square brackets (`kind` says it is one).
 * Spec: https://spec.matrix.org/v1.19/appendices/#server-name
 */
export interface ServerNameParts {
  readonly kind: ServerNameHostKind;
  readonly host: string;
  readonly port: number | undefined;
}

/**
 * Longest DNS name the grammar admits (`dns-name = 1*255dns-char`).
 * Spec: https://spec.matrix.org/v1.19/appendices/#server-name
 */
export const MAX_DNS_NAME_LENGTH = 255;

const DNS_NAME = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;
const DIGITS_AND_DOTS = /^[0-9.]+$/;
const IPV4 = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/;
const PORT = /^[0-9]{1,5}$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/**
 * Parses a server name per the spec's grammar:
 *
 * - a DNS name of letters, digits, `-` and `.`, 1 to 255 characters, made of non-empty
 *   labels (the spec's "conventional restrictions for internet hostnames"); a name of
 *   only digits and dots must be a valid IPv4 literal, as resolvers would read it as one;
 * - a dotted-quad IPv4 literal with each number 0 to 255;
 * - a bracketed IPv6 literal as in RFC 3513 section 2.2 (no zone identifier: the grammar
 *   admits only hex digits, `:` and `.`);
 * - optionally `:` and a port of 1 to 5 digits. Port 0 is refused: the grammar admits it
 *   but the server name is "the address at which the homeserver can be reached" and TCP
 *   port 0 cannot be connected to. Ports above 65535 are refused for the same reason.
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#server-name
 */
export function parseServerName(input: string): Result<ServerName> {
  const parts = splitServerNameText(input);
  return typeof parts === 'string' ? err(parts) : ok(input as ServerName);
}

/**
 * Splits a parsed server name into its host kind, host and optional port.
 * Spec: https://spec.matrix.org/v1.19/appendices/#server-name
 */
export function splitServerName(serverName: ServerName): ServerNameParts {
  const parts = splitServerNameText(serverName);
  if (typeof parts === 'string') throw new Error(`not a server name: ${parts}`);
  return parts;
}

/**
 * The host of a server name (an IPv6 literal without brackets).
 * Spec: https://spec.matrix.org/v1.19/appendices/#server-name
 */
export function getServerNameHost(serverName: ServerName): string {
  return splitServerName(serverName).host;
}

/**
 * The explicit port of a server name, or `undefined` when it has none.
 * Spec: https://spec.matrix.org/v1.19/appendices/#server-name
 */
export function getServerNamePort(serverName: ServerName): number | undefined {
  return splitServerName(serverName).port;
}

/**
 * Whether `input` is a valid IPv6 address as in RFC 3513 section 2.2: eight groups of
 * one to four hex digits, at most one `::` standing for one or more zero groups, and
 * optionally the last 32 bits as a dotted-quad IPv4 address.
 * Spec: https://spec.matrix.org/v1.19/appendices/#server-name
 */
export function isIpv6Address(input: string): boolean {
  if (input.length < 2 || input.length > 45) return false;
  const halves = input.split('::');
  if (halves.length > 2) return false;
  const groupCounts: number[] = [];
  for (let h = 0; h < halves.length; h++) {
    const half = halves[h] ?? '';
    if (half === '') {
      groupCounts.push(0);
      continue;
    }
    const groups = half.split(':');
    let count = 0;
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g] ?? '';
      const isLast = h === halves.length - 1 && g === groups.length - 1;
      if (isLast && group.includes('.')) {
        if (!isIpv4Address(group)) return false;
        count += 2;
      } else if (HEX_GROUP.test(group)) count += 1;
      else return false;
    }
    groupCounts.push(count);
  }
  const total = groupCounts.reduce((a, b) => a + b, 0);
  return halves.length === 2 ? total <= 7 : total === 8;
}

/**
 * Whether `input` is a dotted-quad IPv4 literal with each number 0 to 255.
 * Spec: https://spec.matrix.org/v1.19/appendices/#server-name
 */
export function isIpv4Address(input: string): boolean {
  const match = IPV4.exec(input);
  return match !== null && match.slice(1).every((n) => Number(n) <= 255);
}

function splitServerNameText(input: string): ServerNameParts | string {
  let hostText: string;
  let portText: string | undefined;
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close < 0) return 'IPv6 literal is missing its closing bracket';
    hostText = input.slice(0, close + 1);
    const rest = input.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return 'unexpected characters after the IPv6 literal';
      portText = rest.slice(1);
    }
  } else {
    const colon = input.indexOf(':');
    hostText = colon < 0 ? input : input.slice(0, colon);
    portText = colon < 0 ? undefined : input.slice(colon + 1);
  }

  let port: number | undefined;
  if (portText !== undefined) {
    if (!PORT.test(portText)) return 'port must be 1 to 5 digits';
    port = Number(portText);
    if (port < 1 || port > 65535) return 'port must be between 1 and 65535';
  }

  if (hostText.startsWith('[')) {
    const address = hostText.slice(1, -1);
    if (!isIpv6Address(address)) return 'invalid IPv6 literal';
    return { kind: 'ipv6', host: address, port };
  }
  if (hostText === '') return 'hostname is empty';
  if (DIGITS_AND_DOTS.test(hostText)) {
    if (!isIpv4Address(hostText)) return 'invalid IPv4 literal';
    return { kind: 'ipv4', host: hostText, port };
  }
  if (hostText.length > MAX_DNS_NAME_LENGTH) return `DNS name is longer than ${MAX_DNS_NAME_LENGTH} characters`;
  if (!DNS_NAME.test(hostText)) return 'DNS name may only hold letters, digits, "-" and non-empty "."-separated labels';
  return { kind: 'dns', host: hostText, port };
}
