/**
 * Why an outbound federation request failed. Each kind calls for a different reaction:
 * - {@link FederationDestinationRefusedError}: nothing was sent and nothing will ever be
 *   (a blocked address, a name that is not a server name): do not retry;
 * - {@link FederationNetworkError}: no answer (DNS, connection, TLS, timeout, connection
 *   lost): back off and retry later;
 * - {@link FederationRequestError}: the remote server answered with a non-2xx status;
 * - {@link FederationResponseError}: it answered 2xx with a body that cannot be used.
 */
export abstract class FederationError extends Error {
  constructor(
    /** The server name the request was for (before delegation). */
    readonly destination: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type RefusalReason = 'blocked_address' | 'invalid_server_name';

/** The destination may not be contacted; no connection was made. */
export class FederationDestinationRefusedError extends FederationError {
  override readonly name = 'FederationDestinationRefusedError';

  constructor(
    destination: string,
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(destination, message);
  }
}

/**
 * Where the request was when it failed. `dns`, `connect` and `tls` fail before anything
 * was sent; `timeout` and `connection` may fail after the request went out.
 */
export type NetworkFailure = 'dns' | 'connect' | 'tls' | 'timeout' | 'connection';

/** No answer came from the remote server: callers back off. */
export class FederationNetworkError extends FederationError {
  override readonly name = 'FederationNetworkError';

  constructor(
    destination: string,
    readonly failure: NetworkFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(destination, message, options);
  }

  /** Whether the request certainly never reached the server (another address may be tried). */
  get beforeSending(): boolean {
    return this.failure === 'dns' || this.failure === 'connect' || this.failure === 'tls';
  }
}

/** The remote server answered with a status outside 2xx. */
export class FederationRequestError extends FederationError {
  override readonly name = 'FederationRequestError';

  constructor(
    destination: string,
    readonly status: number,
    /** `errcode` of the remote's standard error body, when it sent one. */
    readonly errcode: string | undefined,
    /** `error` of the remote's standard error body, when it sent one. */
    readonly remoteError: string | undefined,
    /** The whole parsed error body (e.g. for `retry_after_ms`), when it was JSON. */
    readonly body: unknown,
  ) {
    super(destination, `${destination} answered ${status}${errcode === undefined ? '' : ` ${errcode}`}${remoteError === undefined ? '' : `: ${remoteError}`}`);
  }
}

export type ResponseFault = 'too_large' | 'invalid_json';

/** The remote server answered 2xx, but the body is over the size limit or not JSON. */
export class FederationResponseError extends FederationError {
  override readonly name = 'FederationResponseError';

  constructor(
    destination: string,
    readonly fault: ResponseFault,
    message: string,
  ) {
    super(destination, message);
  }
}
