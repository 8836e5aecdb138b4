import { type ErrorExtras, type Errcode, MatrixError, defaultStatus } from '@axon/matrix-errors';
import { RpcStatus, RpcStatusError } from './status';

/**
 * The one mapping between `MatrixError` and gRPC status, both ways.
 *
 * Server side: a `MatrixError` becomes the status below, and its errcode, HTTP status
 * and extras travel in trailing metadata, so the client rebuilds an equal error. The
 * status code is for foreign tools (grpcurl, meshes, dashboards); Axon clients read the
 * trailers. Anything else thrown is a bug: INTERNAL, logged by the server with context,
 * and the caller sees only `M_UNKNOWN` "Internal server error".
 *
 * Client side: a status without Axon trailers did not come from a handler; it is the
 * transport's (deadline, connection, cancellation) and becomes `M_UNKNOWN` with the
 * HTTP status of {@link TRANSPORT_HTTP_STATUS}.
 */

/** Trailer keys. `-bin` makes gRPC carry the JSON as bytes, so any Unicode survives. */
export const ERRCODE_TRAILER = 'x-axon-errcode';
export const HTTP_STATUS_TRAILER = 'x-axon-http-status';
export const EXTRAS_TRAILER = 'x-axon-error-extras-bin';

/** gRPC status for every errcode: a new errcode does not compile until it is placed. */
export const STATUS_FOR_ERRCODE: Readonly<Record<Errcode, RpcStatus>> = {
  M_UNKNOWN: RpcStatus.INTERNAL,
  M_NOT_FOUND: RpcStatus.NOT_FOUND,
  M_UNKNOWN_DEVICE: RpcStatus.NOT_FOUND,
  M_THREEPID_NOT_FOUND: RpcStatus.NOT_FOUND,
  M_UNRECOGNIZED: RpcStatus.UNIMPLEMENTED,
  M_FORBIDDEN: RpcStatus.PERMISSION_DENIED,
  M_GUEST_ACCESS_FORBIDDEN: RpcStatus.PERMISSION_DENIED,
  M_USER_DEACTIVATED: RpcStatus.PERMISSION_DENIED,
  M_USER_SUSPENDED: RpcStatus.PERMISSION_DENIED,
  M_SERVER_NOT_TRUSTED: RpcStatus.PERMISSION_DENIED,
  M_THREEPID_DENIED: RpcStatus.PERMISSION_DENIED,
  M_THREEPID_AUTH_FAILED: RpcStatus.PERMISSION_DENIED,
  M_UNKNOWN_TOKEN: RpcStatus.UNAUTHENTICATED,
  M_MISSING_TOKEN: RpcStatus.UNAUTHENTICATED,
  M_UNAUTHORIZED: RpcStatus.UNAUTHENTICATED,
  M_USER_LOCKED: RpcStatus.UNAUTHENTICATED,
  M_LIMIT_EXCEEDED: RpcStatus.RESOURCE_EXHAUSTED,
  M_RESOURCE_LIMIT_EXCEEDED: RpcStatus.RESOURCE_EXHAUSTED,
  M_USER_LIMIT_EXCEEDED: RpcStatus.RESOURCE_EXHAUSTED,
  M_BAD_JSON: RpcStatus.INVALID_ARGUMENT,
  M_NOT_JSON: RpcStatus.INVALID_ARGUMENT,
  M_INVALID_PARAM: RpcStatus.INVALID_ARGUMENT,
  M_MISSING_PARAM: RpcStatus.INVALID_ARGUMENT,
  M_TOO_LARGE: RpcStatus.INVALID_ARGUMENT,
  M_BAD_ALIAS: RpcStatus.INVALID_ARGUMENT,
  M_PROFILE_TOO_LARGE: RpcStatus.INVALID_ARGUMENT,
  M_KEY_TOO_LARGE: RpcStatus.INVALID_ARGUMENT,
  M_INVALID_USERNAME: RpcStatus.INVALID_ARGUMENT,
  M_INVALID_ROOM_STATE: RpcStatus.INVALID_ARGUMENT,
  M_WEAK_PASSWORD: RpcStatus.INVALID_ARGUMENT,
  M_CAPTCHA_INVALID: RpcStatus.INVALID_ARGUMENT,
  M_UNSUPPORTED_ROOM_VERSION: RpcStatus.INVALID_ARGUMENT,
  M_THREEPID_MEDIUM_NOT_SUPPORTED: RpcStatus.INVALID_ARGUMENT,
  M_USER_IN_USE: RpcStatus.ALREADY_EXISTS,
  M_ROOM_IN_USE: RpcStatus.ALREADY_EXISTS,
  M_THREEPID_IN_USE: RpcStatus.ALREADY_EXISTS,
  M_EXCLUSIVE: RpcStatus.ALREADY_EXISTS,
  M_BAD_STATE: RpcStatus.FAILED_PRECONDITION,
  M_INCOMPATIBLE_ROOM_VERSION: RpcStatus.FAILED_PRECONDITION,
  M_CANNOT_LEAVE_SERVER_NOTICE_ROOM: RpcStatus.FAILED_PRECONDITION,
  M_WRONG_ROOM_KEYS_VERSION: RpcStatus.FAILED_PRECONDITION,
  M_CAPTCHA_NEEDED: RpcStatus.FAILED_PRECONDITION,
  M_UNACTIONABLE: RpcStatus.FAILED_PRECONDITION,
  M_UNABLE_TO_AUTHORISE_JOIN: RpcStatus.FAILED_PRECONDITION,
  M_UNABLE_TO_GRANT_JOIN: RpcStatus.FAILED_PRECONDITION,
};

/**
 * HTTP status of the `M_UNKNOWN` a caller gets when the transport, not a handler, ended
 * the call: 504 and 503 as a gateway would answer, 499 ("client closed request", as
 * nginx logs it) for a cancellation the caller itself asked for, 501 for a method the
 * server does not have (version skew between services). Anything else is 500.
 */
export const TRANSPORT_HTTP_STATUS: Readonly<Partial<Record<RpcStatus, number>>> = {
  [RpcStatus.DEADLINE_EXCEEDED]: 504,
  [RpcStatus.UNAVAILABLE]: 503,
  [RpcStatus.CANCELLED]: 499,
  [RpcStatus.UNIMPLEMENTED]: 501,
};

const TRANSPORT_WORDING: Readonly<Partial<Record<RpcStatus, string>>> = {
  [RpcStatus.DEADLINE_EXCEEDED]: 'deadline exceeded',
  [RpcStatus.UNAVAILABLE]: 'service unavailable',
  [RpcStatus.CANCELLED]: 'cancelled',
  [RpcStatus.UNIMPLEMENTED]: 'not implemented by the server',
};

/** The message every non-Matrix server error is reduced to. */
export const INTERNAL_ERROR_MESSAGE = 'Internal server error';

/** Server side: what a handler's failure looks like on the wire. */
export function statusFromError(error: unknown): RpcStatusError {
  if (error instanceof RpcStatusError) return error;
  if (error instanceof MatrixError) {
    return new RpcStatusError(STATUS_FOR_ERRCODE[error.errcode], error.message, {
      [ERRCODE_TRAILER]: error.errcode,
      [HTTP_STATUS_TRAILER]: String(error.status),
      [EXTRAS_TRAILER]: JSON.stringify(error.extras),
    });
  }
  return new RpcStatusError(RpcStatus.INTERNAL, INTERNAL_ERROR_MESSAGE, {
    [ERRCODE_TRAILER]: 'M_UNKNOWN',
    [HTTP_STATUS_TRAILER]: '500',
    [EXTRAS_TRAILER]: '{}',
  });
}

/**
 * Client side: the `MatrixError` a caller sees for a failed call. Transport failures
 * get a fixed wording: their details (addresses, timings) stay in the client's log,
 * since this error may end up in a Matrix client's response body.
 */
export function matrixErrorFromStatus(status: RpcStatusError, path: string): MatrixError {
  const errcode = status.trailers[ERRCODE_TRAILER];
  if (errcode !== undefined && MatrixError.isErrcode(errcode)) {
    return new MatrixError(
      errcode,
      status.details,
      parseHttpStatus(status.trailers[HTTP_STATUS_TRAILER]) ?? defaultStatus(errcode),
      parseExtras(status.trailers[EXTRAS_TRAILER]),
    );
  }
  const wording = TRANSPORT_WORDING[status.code] ?? `failed with ${RpcStatus[status.code] ?? status.code}`;
  return new MatrixError('M_UNKNOWN', `${path.slice(1)}: ${wording}`, TRANSPORT_HTTP_STATUS[status.code] ?? 500);
}

/** The signal reason a handler sees, equal to what its caller is told. */
export function transportError(code: RpcStatus, path: string): MatrixError {
  return matrixErrorFromStatus(new RpcStatusError(code, RpcStatus[code] ?? String(code)), path);
}

function parseHttpStatus(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-5]\d\d$/.test(value)) return undefined;
  return Number(value);
}

function parseExtras(value: string | undefined): ErrorExtras {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    // Our own servers always send valid JSON; a foreign one's garbage must not turn a
    // well-formed Matrix error into a client-side crash, so the extras are dropped.
    if (error instanceof SyntaxError) return {};
    throw error;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as ErrorExtras) : {};
}
