/**
 * The one error type of the codebase: a Matrix `errcode` with its HTTP status.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#standard-error-response
 * Transports map it at their edge: HTTP to a `{errcode, error}` body, gRPC to a status
 * plus the errcode in metadata, the bus to ack / retry / dead-letter.
 */

/**
 * Error codes named by the Client-Server API ("Common error codes" and "Other error
 * codes") and the Server-Server API.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#common-error-codes
 */
export const ERRCODES = [
  'M_BAD_JSON',
  'M_FORBIDDEN',
  'M_LIMIT_EXCEEDED',
  'M_MISSING_TOKEN',
  'M_NOT_FOUND',
  'M_NOT_JSON',
  'M_RESOURCE_LIMIT_EXCEEDED',
  'M_UNKNOWN',
  'M_UNKNOWN_DEVICE',
  'M_UNKNOWN_TOKEN',
  'M_UNRECOGNIZED',
  'M_USER_LIMIT_EXCEEDED',
  'M_USER_LOCKED',
  'M_USER_SUSPENDED',
  'M_BAD_STATE',
  'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM',
  'M_CAPTCHA_INVALID',
  'M_CAPTCHA_NEEDED',
  'M_EXCLUSIVE',
  'M_GUEST_ACCESS_FORBIDDEN',
  'M_INCOMPATIBLE_ROOM_VERSION',
  'M_INVALID_PARAM',
  'M_INVALID_ROOM_STATE',
  'M_INVALID_USERNAME',
  'M_MISSING_PARAM',
  'M_ROOM_IN_USE',
  'M_SERVER_NOT_TRUSTED',
  'M_THREEPID_AUTH_FAILED',
  'M_THREEPID_DENIED',
  'M_THREEPID_IN_USE',
  'M_THREEPID_MEDIUM_NOT_SUPPORTED',
  'M_THREEPID_NOT_FOUND',
  'M_TOO_LARGE',
  'M_UNAUTHORIZED',
  'M_UNSUPPORTED_ROOM_VERSION',
  'M_USER_DEACTIVATED',
  'M_USER_IN_USE',
  'M_WEAK_PASSWORD',
  'M_WRONG_ROOM_KEYS_VERSION',
  'M_UNACTIONABLE',
  'M_BAD_ALIAS',
  'M_PROFILE_TOO_LARGE',
  'M_KEY_TOO_LARGE',
  // Server-Server API, restricted rooms (make_join).
  'M_UNABLE_TO_AUTHORISE_JOIN',
  'M_UNABLE_TO_GRANT_JOIN',
] as const;

/** A Matrix error code: one of {@link ERRCODES}. */
export type Errcode = (typeof ERRCODES)[number];

/** Extra top-level fields some errors carry (`retry_after_ms`, `soft_logout`, ...). */
export type ErrorExtras = Readonly<Record<string, unknown>>;

/** The JSON body of a Matrix error response. */
export interface MatrixErrorBody {
  readonly errcode: string;
  readonly error: string;
  readonly [extra: string]: unknown;
}

/**
 * A Matrix error. `status` is the HTTP status the Client-Server or Server-Server API
 * prescribes for the endpoint; `extras` become extra fields of the response body.
 */
export class MatrixError extends Error {
  constructor(
    readonly errcode: Errcode,
    message: string,
    readonly status: number = defaultStatus(errcode),
    readonly extras: ErrorExtras = {},
  ) {
    super(message);
    this.name = 'MatrixError';
  }

  /** The response body, as the spec's "Standard error response" describes it. */
  toBody(): MatrixErrorBody {
    return { ...this.extras, errcode: this.errcode, error: this.message };
  }

  static isErrcode(value: string): value is Errcode {
    return (ERRCODES as readonly string[]).includes(value);
  }
}

/**
 * The usual HTTP status for an errcode, used when an endpoint does not say otherwise.
 * Spec: each errcode's description in "Common error codes".
 */
export function defaultStatus(errcode: Errcode): number {
  switch (errcode) {
    case 'M_FORBIDDEN':
    case 'M_USER_DEACTIVATED':
    case 'M_USER_SUSPENDED':
    case 'M_GUEST_ACCESS_FORBIDDEN':
    case 'M_THREEPID_DENIED':
    case 'M_SERVER_NOT_TRUSTED':
      return 403;
    case 'M_UNKNOWN_TOKEN':
    case 'M_MISSING_TOKEN':
    case 'M_UNAUTHORIZED':
    case 'M_USER_LOCKED':
      return 401;
    case 'M_NOT_FOUND':
    case 'M_UNRECOGNIZED':
      return 404;
    case 'M_LIMIT_EXCEEDED':
      return 429;
    case 'M_TOO_LARGE':
      return 413;
    case 'M_UNKNOWN':
      return 500;
    default:
      return 400;
  }
}

/** An `M_LIMIT_EXCEEDED` error with the `retry_after_ms` hint the spec allows. */
export function limitExceeded(retryAfterMs: number): MatrixError {
  return new MatrixError('M_LIMIT_EXCEEDED', 'Too many requests', 429, {
    retry_after_ms: Math.max(0, Math.ceil(retryAfterMs)),
  });
}
