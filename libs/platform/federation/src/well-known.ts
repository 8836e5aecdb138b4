import type { IncomingHttpHeaders } from 'node:http';
import { parseCanonicalJsonBytes } from '@axon/matrix-canonical-json';
import { parseServerName, type ServerName } from '@axon/matrix-identifiers';
import { FederationError } from './errors';
import type { Transport, TransportResponse } from './transport';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How long a well-known answer without caching headers is kept (the spec's recommendation). */
export const WELL_KNOWN_DEFAULT_CACHE_MS = 24 * HOUR;
/** The longest a well-known answer is kept, whatever its headers say (the spec's recommendation). */
export const WELL_KNOWN_MAX_CACHE_MS = 48 * HOUR;
/**
 * The shortest: `max-age=0` or `no-store` would otherwise fetch the file again before
 * every request to that server. Synapse keeps answers at least as long.
 */
export const WELL_KNOWN_MIN_CACHE_MS = 5 * MINUTE;
/**
 * How long a failed fetch (no answer, not 200, not JSON, no valid `m.server`) is kept:
 * the spec recommends "up to an hour"; Synapse keeps an invalid answer this long too.
 * Until then the server is reached through SRV records or port 8448.
 */
export const WELL_KNOWN_FAILURE_CACHE_MS = HOUR;

/** Redirects followed at most; a loop ends at the first repeated address. */
export const WELL_KNOWN_MAX_REDIRECTS = 5;
/** The largest well-known answer read (Synapse's limit); it holds one short string. */
export const WELL_KNOWN_MAX_BYTES = 50 * 1024;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The outcome of reading `/.well-known/matrix/server`: the delegated server name, or why there is none. */
export type WellKnownResult = { readonly ok: true; readonly delegated: ServerName } | { readonly ok: false; readonly reason: string };

/**
 * Reads a well-known answer: status 200 and a JSON object (whatever its Content-Type)
 * whose `m.server` is a server name. Anything else is invalid, which resolution treats
 * as no delegation.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#getwell-knownmatrixserver
 */
export function parseWellKnown(response: Pick<TransportResponse, 'status' | 'body'>): WellKnownResult {
  if (response.status !== 200) return { ok: false, reason: `status ${response.status}` };
  const json = parseCanonicalJsonBytes(response.body, { mode: 'lenient' });
  if (!json.ok) return { ok: false, reason: `not JSON (${json.error.message})` };
  const value = json.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
  const server = value['m.server'];
  if (typeof server !== 'string') return { ok: false, reason: 'no m.server string' };
  const delegated = parseServerName(server);
  if (!delegated.ok) return { ok: false, reason: `m.server is not a server name (${delegated.error})` };
  return { ok: true, delegated: delegated.value };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * How long the headers allow keeping an answer, in milliseconds, or `undefined` when
 * they say nothing: `Cache-Control: no-store` or `no-cache` is 0, then `max-age`, then
 * `Expires` (relative to `now`).
 */
export function cacheLifetimeFromHeaders(headers: IncomingHttpHeaders, now: number): number | undefined {
  const directives = (header(headers, 'cache-control') ?? '')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d.length > 0);
  if (directives.includes('no-store') || directives.includes('no-cache')) return 0;
  for (const directive of directives) {
    const match = /^max-age\s*=\s*"?(\d+)"?$/.exec(directive);
    if (match) return Number(match[1]) * 1000;
  }
  const expires = header(headers, 'expires');
  if (expires !== undefined) {
    const at = Date.parse(expires);
    // An invalid date means "already expired" (RFC 9111 §5.3).
    return Number.isNaN(at) ? 0 : Math.max(0, at - now);
  }
  return undefined;
}

/** Fetches `https://<hostname>/.well-known/matrix/server`, following redirects; throws when no answer came. */
export interface WellKnownFetcher {
  fetch(hostname: string): Promise<TransportResponse>;
}

/**
 * The well-known fetch over the federation transport (same IP filter, certificate
 * checks and deadline as every request). Redirects are followed to `https:` URLs only,
 * at most {@link WELL_KNOWN_MAX_REDIRECTS}, stopping at a loop. `port` is 443 (RFC 8615);
 * tests serve the file elsewhere.
 */
export class HttpsWellKnownFetcher implements WellKnownFetcher {
  constructor(
    private readonly transport: Transport,
    private readonly options: { readonly timeoutMs: number; readonly port?: number },
  ) {}

  async fetch(hostname: string): Promise<TransportResponse> {
    let url = new URL(`https://${hostname}:${this.options.port ?? 443}/.well-known/matrix/server`);
    const seen = new Set<string>();
    for (;;) {
      seen.add(url.href);
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      const port = url.port === '' ? 443 : Number(url.port);
      const response = await this.transport.send({
        destination: hostname,
        host,
        port,
        hostHeader: url.host,
        method: 'GET',
        path: `${url.pathname}${url.search}`,
        timeoutMs: this.options.timeoutMs,
        maxResponseBytes: WELL_KNOWN_MAX_BYTES,
      });
      const location = header(response.headers, 'location');
      if (!REDIRECTS.has(response.status) || location === undefined) return response;
      const next = new URL(location, url);
      if (next.protocol !== 'https:' || seen.has(next.href) || seen.size > WELL_KNOWN_MAX_REDIRECTS) return response;
      url = next;
    }
  }
}

interface CacheEntry {
  readonly result: Promise<WellKnownResult>;
  expiresAt: number;
}

/**
 * Well-known answers by hostname, kept as long as their caching headers say (default
 * 24 h, within 5 min to 48 h) and failures for an hour; one fetch at a time per
 * hostname. The oldest entries go once `maxEntries` are held.
 */
export class WellKnownCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(
    private readonly fetcher: WellKnownFetcher,
    options: { readonly now?: () => number; readonly maxEntries?: number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  lookup(hostname: string): Promise<WellKnownResult> {
    const cached = this.entries.get(hostname);
    if (cached !== undefined && this.now() < cached.expiresAt) return cached.result;
    this.entries.delete(hostname);
    // Expires only once settled: concurrent lookups share this fetch.
    const entry: CacheEntry = { result: this.fetch(hostname, (ms) => (entry.expiresAt = this.now() + ms)), expiresAt: Infinity };
    this.entries.set(hostname, entry);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
    return entry.result;
  }

  private async fetch(hostname: string, keepFor: (ms: number) => void): Promise<WellKnownResult> {
    let result: WellKnownResult;
    try {
      const response = await this.fetcher.fetch(hostname);
      result = parseWellKnown(response);
      if (result.ok) {
        const fromHeaders = cacheLifetimeFromHeaders(response.headers, this.now()) ?? WELL_KNOWN_DEFAULT_CACHE_MS;
        keepFor(Math.min(WELL_KNOWN_MAX_CACHE_MS, Math.max(WELL_KNOWN_MIN_CACHE_MS, fromHeaders)));
        return result;
      }
    } catch (error) {
      if (!(error instanceof FederationError)) {
        keepFor(0);
        throw error;
      }
      result = { ok: false, reason: error.message };
    }
    keepFor(WELL_KNOWN_FAILURE_CACHE_MS);
    return result;
  }
}
