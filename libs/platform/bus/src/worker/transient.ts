/**
 * Whether a handler's failure means "a dependency is unreachable for now" (the database
 * restarting, a broker or Redis gone, a peer service unavailable) rather than "this
 * message cannot be handled". The first kind is retried for as long as it lasts and
 * never counts towards `maxAttempts`: dead-lettering a good message because Postgres
 * restarted would lose it.
 */
export function isTransientFailure(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    if (matches(current as FailureShape)) return true;
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
