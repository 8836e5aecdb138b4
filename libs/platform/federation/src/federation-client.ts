import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { encodeCanonicalJson, parseCanonicalJsonBytes, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { signXMatrixRequest, type Ed25519Backend, type SigningKey } from '@axon/matrix-signing';
import type { AxonConfig } from '@axon/platform-config';
import type { Logger } from '@axon/platform-telemetry';
import { FederationDestinationRefusedError, FederationNetworkError, FederationRequestError, FederationResponseError } from './errors';
import { IpRangeFilter } from './ip-ranges';
import { systemResolver, type Resolver } from './resolver';
import { ServerNameResolver, type ResolvedServer } from './server-name-resolution';
import { Transport, type TransportResponse } from './transport';
import { HttpsWellKnownFetcher, WellKnownCache } from './well-known';

/** The largest answer read unless a call allows more (`send_join` answers of big rooms do). */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Connecting (TCP and TLS) takes at most this long, or the request's timeout if shorter. */
export const CONNECT_TIMEOUT_MS = 10_000;

export type FederationMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** Per-call settings. */
export interface FederationCallOptions {
  /** Sign with X-Matrix (default); `false` only for endpoints without authentication (`/_matrix/key/v2/server`). */
  readonly signed?: boolean;
  /** Default {@link DEFAULT_MAX_RESPONSE_BYTES}. */
  readonly maxResponseBytes?: number;
  /** Default `federation.client.request_timeout_ms`; applies to each address tried. */
  readonly timeoutMs?: number;
}

export interface FederationRequest extends FederationCallOptions {
  /** The server name to send to (before delegation: it is what gets signed). */
  readonly destination: string;
  readonly method: FederationMethod;
  /** From `/_matrix/`, query string included, already percent-encoded: signed as is. */
  readonly path: string;
  /** The JSON body (`PUT` and `POST` need one, if only `{}`). */
  readonly body?: JsonObject;
}

/** What the client logs: destinations, paths and outcomes; never headers. */
export type FederationLogger = Pick<Logger, 'debug' | 'warn'>;

export interface FederationClientOptions {
  /** `origin` of every signed request: this server's name. */
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly backend: Ed25519Backend;
  readonly logger: FederationLogger;
  readonly requestTimeoutMs: number;
  readonly ipRangeBlacklist: readonly string[];
  readonly ipRangeWhitelist: readonly string[];
  /** Extra trusted CAs (PEM), besides Node's bundled roots. */
  readonly extraCas?: readonly string[];
  /** Default true; false only by configuration, for tests. */
  readonly verifyCertificates?: boolean;
  /** DNS lookups; default the system's. */
  readonly resolver?: Resolver;
  /** The clock of the well-known and SRV caches; default `Date.now`. */
  readonly now?: () => number;
  /** Port of the well-known fetch: 443 (RFC 8615); tests serve the file elsewhere. */
  readonly wellKnownPort?: number;
}

/** What a standard error body carries, when the answer is one. */
function errorFields(body: JsonValue | undefined): { errcode: string | undefined; error: string | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { errcode: undefined, error: undefined };
  const { errcode, error } = body;
  return { errcode: typeof errcode === 'string' ? errcode : undefined, error: typeof error === 'string' ? error : undefined };
}

/**
 * The only way Axon talks to other homeservers. Resolves server names as the spec
 * orders (with well-known and SRV caching), refuses addresses in
 * `federation.client.ip_range_blacklist`, verifies certificates, signs requests with the
 * server's key (X-Matrix) and parses JSON answers with a size cap. Connections are kept
 * alive and reused. Failures are {@link FederationDestinationRefusedError},
 * {@link FederationNetworkError}, {@link FederationRequestError} or
 * {@link FederationResponseError}.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
export class FederationClient {
  private readonly transport: Transport;
  private readonly resolver: ServerNameResolver;

  constructor(private readonly options: FederationClientOptions) {
    const resolver = options.resolver ?? systemResolver;
    this.transport = new Transport({
      resolver,
      ipFilter: new IpRangeFilter({ blacklist: options.ipRangeBlacklist, whitelist: options.ipRangeWhitelist }),
      // A `ca` list replaces Node's roots, so they are listed too.
      ...(options.extraCas !== undefined && options.extraCas.length > 0 ? { ca: [...rootCertificates, ...options.extraCas] } : {}),
      verifyCertificates: options.verifyCertificates ?? true,
      connectTimeoutMs: Math.min(CONNECT_TIMEOUT_MS, options.requestTimeoutMs),
    });
    const fetcher = new HttpsWellKnownFetcher(this.transport, {
      timeoutMs: options.requestTimeoutMs,
      ...(options.wellKnownPort === undefined ? {} : { port: options.wellKnownPort }),
    });
    const clock = options.now === undefined ? {} : { now: options.now };
    this.resolver = new ServerNameResolver(resolver, new WellKnownCache(fetcher, clock), clock);
  }

  /** A client from `federation.client.*` and `server_name`, reading the CA files. */
  static async fromConfig(
    config: AxonConfig,
    keys: { readonly signingKey: SigningKey; readonly backend: Ed25519Backend },
    logger: FederationLogger,
    overrides: Pick<FederationClientOptions, 'resolver' | 'now' | 'wellKnownPort'> = {},
  ): Promise<FederationClient> {
    const client = config.federation.client;
    const extraCas = await Promise.all(
      client.ca_files.map((path) =>
        readFile(path, 'utf8').catch((error: Error) => {
          throw new Error(`federation.client.ca_files: cannot read ${path}: ${error.message}`, { cause: error });
        }),
      ),
    );
    return new FederationClient({
      serverName: config.server_name,
      signingKey: keys.signingKey,
      backend: keys.backend,
      logger,
      requestTimeoutMs: client.request_timeout_ms,
      ipRangeBlacklist: client.ip_range_blacklist,
      ipRangeWhitelist: client.ip_range_whitelist,
      extraCas,
      verifyCertificates: client.verify_certificates,
      ...overrides,
    });
  }

  /** Where requests for `destination` would go now. */
  resolve(destination: string): Promise<ResolvedServer> {
    return this.resolver.resolve(destination);
  }

  get(destination: string, path: string, options: FederationCallOptions = {}): Promise<JsonValue> {
    return this.request({ ...options, destination, method: 'GET', path });
  }

  put(destination: string, path: string, body: JsonObject, options: FederationCallOptions = {}): Promise<JsonValue> {
    return this.request({ ...options, destination, method: 'PUT', path, body });
  }

  post(destination: string, path: string, body: JsonObject, options: FederationCallOptions = {}): Promise<JsonValue> {
    return this.request({ ...options, destination, method: 'POST', path, body });
  }

  /** Sends one request and returns its parsed JSON answer (big integers as `bigint`). */
  async request(request: FederationRequest): Promise<JsonValue> {
    const { destination, method, path } = request;
    if (!path.startsWith('/_matrix/')) throw new Error(`federation paths start with /_matrix/, not ${path}`);
    const resolved = await this.resolver.resolve(destination);
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | undefined;
    if (request.body !== undefined) {
      body = encodeCanonicalJson(request.body, { mode: 'lenient' });
      headers['content-type'] = 'application/json';
    }
    if (request.signed ?? true) {
      headers['authorization'] = signXMatrixRequest(
        { method, uri: path, origin: this.options.serverName, destination, ...(request.body === undefined ? {} : { content: request.body }) },
        { key: this.options.signingKey, backend: this.options.backend },
      );
    }
    const started = performance.now();
    const response = await this.sendToFirstReachable(resolved, {
      method,
      path,
      headers,
      ...(body === undefined ? {} : { body }),
      timeoutMs: request.timeoutMs ?? this.options.requestTimeoutMs,
      maxResponseBytes: request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    });
    // The path without its query: queries may carry user IDs or tokens of other servers.
    const logged = { destination, method, path: path.split('?')[0], status: response.status, ms: Math.round(performance.now() - started) };
    this.options.logger.debug(logged, 'federation request');
    const parsed = parseCanonicalJsonBytes(response.body, { mode: 'lenient' });
    if (response.status < 200 || response.status > 299) {
      const json = parsed.ok ? parsed.value : undefined;
      const { errcode, error } = errorFields(json);
      throw new FederationRequestError(destination, response.status, errcode, error, json);
    }
    if (!parsed.ok) throw new FederationResponseError(destination, 'invalid_json', `the answer of ${destination} is not JSON: ${parsed.error.message}`);
    return parsed.value;
  }

  /**
   * Tries the targets in order; the next one only when nothing reached the previous one
   * (refused address, DNS, connect or TLS failure), so a request is never sent twice.
   */
  private async sendToFirstReachable(
    resolved: ResolvedServer,
    request: Omit<Parameters<Transport['send']>[0], 'destination' | 'host' | 'port' | 'hostHeader'>,
  ): Promise<TransportResponse> {
    const { serverName: destination, targets, hostHeader } = resolved;
    for (let i = 0; ; i++) {
      const target = targets[i]!;
      try {
        return await this.transport.send({ ...request, destination, host: target.host, port: target.port, hostHeader });
      } catch (error) {
        const unreached = error instanceof FederationDestinationRefusedError || (error instanceof FederationNetworkError && error.beforeSending);
        if (!unreached || i === targets.length - 1) throw error;
        this.options.logger.debug({ destination, target: `${target.host}:${target.port}`, err: error }, 'federation target unreachable, trying the next');
      }
    }
  }

  /** Closes the connections (running requests finish first). */
  close(): Promise<void> {
    return this.transport.close();
  }
}
