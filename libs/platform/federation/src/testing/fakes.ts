import type { IncomingHttpHeaders } from 'node:http';
import { FederationNetworkError } from '../errors';
import type { ResolvedAddress, Resolver, SrvRecord } from '../resolver';
import type { TransportResponse } from '../transport';
import type { WellKnownFetcher } from '../well-known';

/** DNS answers from tables: SRV records by name, addresses by hostname. */
export class FakeResolver implements Resolver {
  readonly srvQueries: string[] = [];

  constructor(
    private readonly srv: Readonly<Record<string, readonly SrvRecord[]>> = {},
    private readonly addresses: Readonly<Record<string, readonly string[]>> = {},
  ) {}

  async resolveSrv(name: string): Promise<readonly SrvRecord[]> {
    this.srvQueries.push(name);
    return this.srv[name] ?? [];
  }

  async lookup(hostname: string): Promise<readonly ResolvedAddress[]> {
    const found = this.addresses[hostname];
    if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }
}

/** A well-known answer with a JSON body. */
export function wellKnownAnswer(body: unknown, headers: IncomingHttpHeaders = {}, status = 200): TransportResponse {
  return { status, headers, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) };
}

/** Well-known answers by hostname; a hostname without one fails as unreachable. Counts fetches. */
export class FakeWellKnownFetcher implements WellKnownFetcher {
  readonly fetched: string[] = [];

  constructor(readonly answers: Record<string, TransportResponse> = {}) {}

  async fetch(hostname: string): Promise<TransportResponse> {
    this.fetched.push(hostname);
    const answer = this.answers[hostname];
    if (answer === undefined) throw new FederationNetworkError(hostname, 'connect', `connect ECONNREFUSED ${hostname}:443`);
    return answer;
  }
}
