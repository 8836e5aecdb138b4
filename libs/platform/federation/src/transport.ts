import type { IncomingHttpHeaders } from 'node:http';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { FederationDestinationRefusedError, FederationError, FederationNetworkError, FederationResponseError, type NetworkFailure } from './errors';
import type { IpRangeFilter } from './ip-ranges';
import type { Resolver } from './resolver';

/** Raised inside the connection's DNS lookup; becomes a {@link FederationDestinationRefusedError}. */
class BlockedAddressError extends Error {
  constructor(readonly hostname: string) {
    super(`every address of ${hostname} is in federation.client.ip_range_blacklist`);
    this.name = 'BlockedAddressError';
  }
}

/**
 * The address lookup of every connection: the resolver's addresses less those the
 * filter refuses. A name with only refused addresses fails the connection before any
 * is attempted. Answers both forms Node asks for (`all` with Happy Eyeballs, or one).
 */
function guardedLookup(resolver: Resolver, filter: IpRangeFilter): LookupFunction {
  return (hostname, options, callback) => {
    resolver.lookup(hostname).then(
      (addresses) => {
        const family = options.family === 'IPv6' ? 6 : options.family === 'IPv4' ? 4 : options.family;
        const allowed = addresses.filter((a) => (!family || a.family === family) && filter.allows(a.address));
        const first = allowed[0];
        if (first === undefined) {
          callback(addresses.length > 0 ? new BlockedAddressError(hostname) : Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        } else if (options.all) {
          callback(null, allowed.map(({ address, family }) => ({ address, family })));
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

/** OpenSSL's certificate verification codes, as Node reports them. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
]);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'ENODATA', 'ESERVFAIL', 'ETIMEOUT']);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

interface ErrorLike {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly library?: unknown;
  readonly cause?: unknown;
}

function networkFailure(error: ErrorLike, timedOut: boolean): NetworkFailure {
  const code = typeof error.code === 'string' ? error.code : '';
  if (timedOut || TIMEOUT_CODES.has(code)) return 'timeout';
  if (DNS_CODES.has(code)) return 'dns';
  if (CONNECT_CODES.has(code)) return 'connect';
  if (CERTIFICATE_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || error.library === 'SSL routines') return 'tls';
  return 'connection';
}

/**
 * Maps what undici, the TLS layer or the lookup threw to the federation error kinds.
 * Errors are read by their fields, not `instanceof Error`: Node's own (a DOMException
 * on abort, system errors) may come from another realm than this code's `Error`.
 */
function toFederationError(destination: string, error: unknown, timedOut: boolean): FederationError {
  for (let e: unknown = error; typeof e === 'object' && e !== null; e = (e as ErrorLike).cause) {
    if (e instanceof FederationError) return e;
    if (e instanceof BlockedAddressError) return new FederationDestinationRefusedError(destination, 'blocked_address', e.message);
  }
  const fields: ErrorLike = typeof error === 'object' && error !== null ? error : { message: String(error) };
  const failure = networkFailure(fields, timedOut);
  const message = timedOut ? 'no answer in time' : String(fields.message);
  return new FederationNetworkError(destination, failure, `${destination}: ${failure} failure: ${message}`, { cause: error });
}

export interface TransportOptions {
  readonly resolver: Resolver;
  readonly ipFilter: IpRangeFilter;
  /** Every CA trusted (PEM); absent means Node's bundled roots. */
  readonly ca?: readonly string[];
  readonly verifyCertificates: boolean;
  readonly connectTimeoutMs: number;
}

/** One HTTPS request to a resolved address. */
export interface TransportRequest {
  /** The server name the request is for, in errors. */
  readonly destination: string;
  /** Where to connect: a hostname, or an IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /**
   * The `Host` header. undici sends its hostname as SNI and verifies the certificate
   * for it; an IP literal is sent without SNI and verified against the certificate's
   * IP addresses, as the spec's TLS section asks.
   */
  readonly hostHeader: string;
  readonly method: Dispatcher.HttpMethod;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

export interface TransportResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * HTTPS to other homeservers over one undici agent: kept-alive connections per
 * address, TLS with certificate verification, and the IP filter applied to every
 * address a connection may go to (literal, or looked up). One deadline covers
 * connecting, sending and reading the whole answer.
 */
export class Transport {
  private readonly agent: Agent;

  constructor(private readonly options: TransportOptions) {
    this.agent = new Agent({
      connect: {
        lookup: guardedLookup(options.resolver, options.ipFilter),
        rejectUnauthorized: options.verifyCertificates,
        timeout: options.connectTimeoutMs,
        ...(options.ca === undefined ? {} : { ca: [...options.ca] }),
      },
      // Federation peers see steady traffic (transactions); connections stay open
      // between requests, as long as the peer's keep-alive hint allows, up to 10 min.
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
    });
  }

  async send(request: TransportRequest): Promise<TransportResponse> {
    const { destination, host } = request;
    if (isIP(host) !== 0 && !this.options.ipFilter.allows(host)) {
      throw new FederationDestinationRefusedError(destination, 'blocked_address', `${host} is in federation.client.ip_range_blacklist`);
    }
    const signal = AbortSignal.timeout(request.timeoutMs);
    try {
      const response = await this.agent.request({
        origin: `https://${isIP(host) === 6 ? `[${host}]` : host}:${request.port}`,
        path: request.path,
        method: request.method,
        headers: { ...request.headers, host: request.hostHeader },
        body: request.body ?? null,
        signal,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      });
      const body = await readCapped(destination, response.body, response.headers, request.maxResponseBytes);
      return { status: response.statusCode, headers: response.headers, body };
    } catch (error) {
      throw toFederationError(destination, error, signal.aborted);
    }
  }

  /** Closes idle connections and waits for running requests. */
  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The whole body, refused (and the connection dropped) once it passes `maxBytes`. */
async function readCapped(destination: string, body: Dispatcher.ResponseData['body'], headers: IncomingHttpHeaders, maxBytes: number): Promise<Buffer> {
  const tooLarge = (): FederationResponseError => new FederationResponseError(destination, 'too_large', `the answer of ${destination} is larger than ${maxBytes} bytes`);
  if (Number(headers['content-length'] ?? 0) > maxBytes) {
    body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
