import { parseServerName, splitServerName, type ServerName } from '@axon/matrix-identifiers';
import { FederationDestinationRefusedError, FederationNetworkError } from './errors';
import { orderSrvRecords, type Resolver, type SrvRecord } from './resolver';
import type { WellKnownCache } from './well-known';

/** The port of a server name that gives none and has no SRV record (IANA's `matrix-fed`). */
export const DEFAULT_FEDERATION_PORT = 8448;

/** How long SRV answers are kept (`node:dns` does not report their TTL, nor cache them). */
export const SRV_CACHE_MS = 5 * 60_000;
const SRV_CACHE_MAX_ENTRIES = 10_000;

/** A place to connect to: a hostname or an IP literal (IPv6 without brackets), and a port. */
export interface FederationTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * Where requests for a server name go. `targets` are tried in order until one accepts
 * a connection (several only from SRV records). `hostHeader` is the `Host` header; its
 * hostname is also the TLS server name (SNI) and the name the certificate must be valid
 * for, or, when it is an IP literal, no SNI is sent and the certificate must hold that IP.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#resolving-server-names
 */
export interface ResolvedServer {
  readonly serverName: ServerName;
  readonly targets: readonly FederationTarget[];
  readonly hostHeader: string;
}

const SRV_SERVICES = ['_matrix-fed._tcp.', '_matrix._tcp.'] as const;

/**
 * Resolves server names in the order of the spec's "Resolving server names" (v1.19):
 * 1. an IP literal: that address, its port or 8448, `Host` the server name;
 * 2. a hostname with a port: that hostname and port, `Host` the server name;
 * 3. `/.well-known/matrix/server` (cached by {@link WellKnownCache}); a valid `m.server`
 *    is resolved as (3.1) an IP literal, (3.2) a hostname with a port, (3.3) SRV
 *    `_matrix-fed._tcp.<delegated>`, (3.4, deprecated) SRV `_matrix._tcp.<delegated>`,
 *    (3.5) the delegated hostname on 8448, with `Host` the delegated name;
 * 4. SRV `_matrix-fed._tcp.<hostname>`, 5. (deprecated) SRV `_matrix._tcp.<hostname>`,
 *    with `Host` the hostname and the certificate for it;
 * 6. the hostname on 8448.
 * Addresses of hostnames are looked up when connecting (where the IP filter applies).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#resolving-server-names
 */
export class ServerNameResolver {
  private readonly srvCache = new Map<string, { readonly records: readonly SrvRecord[]; readonly expiresAt: number }>();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly resolver: Resolver,
    private readonly wellKnown: WellKnownCache,
    options: { readonly now?: () => number; readonly random?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  async resolve(destination: string): Promise<ResolvedServer> {
    const parsed = parseServerName(destination);
    if (!parsed.ok) throw new FederationDestinationRefusedError(destination, 'invalid_server_name', `"${destination}" is not a server name: ${parsed.error}`);
    const serverName = parsed.value;
    const direct = withoutDiscovery(serverName);
    if (direct !== undefined) return { serverName, ...direct };
    const { host } = splitServerName(serverName);

    const wellKnown = await this.wellKnown.lookup(host);
    if (wellKnown.ok) {
      const delegated = wellKnown.delegated;
      const delegatedDirect = withoutDiscovery(delegated);
      if (delegatedDirect !== undefined) return { serverName, ...delegatedDirect };
      const delegatedHost = splitServerName(delegated).host;
      return { serverName, hostHeader: delegatedHost, targets: (await this.srvTargets(destination, delegatedHost)) ?? [{ host: delegatedHost, port: DEFAULT_FEDERATION_PORT }] };
    }
    return { serverName, hostHeader: host, targets: (await this.srvTargets(destination, host)) ?? [{ host, port: DEFAULT_FEDERATION_PORT }] };
  }

  /** The targets of the first SRV service with records for `hostname`, in RFC 2782 order. */
  private async srvTargets(destination: string, hostname: string): Promise<FederationTarget[] | undefined> {
    for (const service of SRV_SERVICES) {
      const records = orderSrvRecords(await this.srvRecords(destination, `${service}${hostname}`), this.random);
      if (records.length > 0) return records.map((r) => ({ host: r.name.replace(/\.$/, ''), port: r.port }));
    }
    return undefined;
  }

  private async srvRecords(destination: string, name: string): Promise<readonly SrvRecord[]> {
    const cached = this.srvCache.get(name);
    if (cached !== undefined && this.now() < cached.expiresAt) return cached.records;
    let records: readonly SrvRecord[];
    try {
      records = await this.resolver.resolveSrv(name);
    } catch (error) {
      throw new FederationNetworkError(destination, 'dns', `SRV lookup of ${name} failed: ${(error as Error).message}`, { cause: error });
    }
    this.srvCache.delete(name);
    this.srvCache.set(name, { records, expiresAt: this.now() + SRV_CACHE_MS });
    // Insertion order is age: the oldest answer goes first.
    if (this.srvCache.size > SRV_CACHE_MAX_ENTRIES) this.srvCache.delete(this.srvCache.keys().next().value!);
    return records;
  }
}

/**
 * Steps 1 and 2 (and 3.1, 3.2 for a delegated name): an IP literal, or any name with a
 * port, is connected to as written, with the name as `Host`.
 */
function withoutDiscovery(name: ServerName): Omit<ResolvedServer, 'serverName'> | undefined {
  const { kind, host, port } = splitServerName(name);
  if (kind === 'dns' && port === undefined) return undefined;
  return { hostHeader: name, targets: [{ host, port: port ?? DEFAULT_FEDERATION_PORT }] };
}
