/**
 * Whether a handler's failure means "a dependency is unreachable for now" (the database
 * restarting, a broker or Redis gone, a peer service unavailable) rather than "this
 * message cannot be handled". The first kind is retried for as long as it lasts and
 * never counts towards `maxAttempts`: dead-lettering a good message because Postgres
 * restarted would lose it.
 */
export function isTransientFailure(err: unknown): boolean {
  return someInChain(err, matches);
}

/**
 * A failure that the same message would meet on every attempt, whatever waits in between:
 * retrying it only holds its partition back (five attempts about 3 s apart, every later
 * message of the partition waiting). Recognised by the error's class, never its text: a
 * `PermanentFailure` a handler threw (input it found it cannot handle), or a Postgres data
 * error its value caused: SQLSTATE class 22 (data exception: a NUL byte or an invalid
 * encoding in text, a number out of range, an invalid representation), 23502 (not-null
 * violation) and 23514 (check violation). A unique or foreign-key violation (23505, 23503)
 * is not among them: a concurrent writer can cause one, and a retry can then succeed.
 * Such failures are dead-lettered at their first attempt, unless the handler turns them
 * into an answer of its own first (as the room server does for a client's input).
 */
export function isPermanentFailure(err: unknown): boolean {
  return !isTransientFailure(err) && someInChain(err, (shape) => shape instanceof PermanentFailure || (typeof shape.code === 'string' && PERMANENT_SQLSTATE.test(shape.code)));
}

/** Thrown by a handler for a message it can never handle (invalid input): dead-lettered at once, never retried. */
export class PermanentFailure extends Error {
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentFailure';
  }
}

const PERMANENT_SQLSTATE = /^(22[0-9A-Z]{3}|23502|23514)$/;

/** Whether `test` holds for `err` or an error it wraps (TypeORM's `driverError`, `cause`, `originalError`). */
function someInChain(err: unknown, test: (shape: FailureShape) => boolean): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    if (test(current as FailureShape)) return true;
    const shape = current as FailureShape;
    // TypeORM wraps the driver's error; Error causes chain the rest.
    current = shape.driverError ?? shape.cause ?? shape.originalError;
  }
  return false;
}

interface FailureShape {
  readonly code?: unknown;
  readonly name?: unknown;
  readonly message?: unknown;
  readonly retriable?: unknown;
  readonly driverError?: unknown;
  readonly cause?: unknown;
  readonly originalError?: unknown;
}

/** Socket-level failures (Node's `err.code`). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTCONN']);

/**
 * Postgres SQLSTATEs that say the server, not the statement, is the problem: class 08
 * (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect
 * now), 53300 (too many connections), and the two a retry resolves by design:
 * 40001 (serialization failure) and 40P01 (deadlock detected).
 */
const SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300|40001|40P01)$/;

/** Messages of clients that report a lost connection without a code (pg, ioredis). */
const LOST_CONNECTION = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Connection is closed|MaxRetriesPerRequest|Cannot enqueue query|the database system is (starting up|shutting down)/i;

/** gRPC UNAVAILABLE (14): the peer service is restarting or has no ready replica. */
const GRPC_UNAVAILABLE = 14;

function matches(err: FailureShape): boolean {
  const { code, name, message } = err;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE.test(code))) return true;
  if (code === GRPC_UNAVAILABLE && typeof name === 'string' && name.includes('Rpc')) return true;
  if (typeof name === 'string' && name.startsWith('KafkaJS') && err.retriable === true) return true;
  if (typeof name === 'string' && /^KafkaJS(Connection|NumberOfRetriesExceeded|RequestTimeout)Error$/.test(name)) return true;
  return typeof message === 'string' && LOST_CONNECTION.test(message);
}
