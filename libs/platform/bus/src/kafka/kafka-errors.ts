import { isTransientFailure } from '../worker/failures';

/** kafkajs errors, by class name, that mean "no broker to talk to yet" (a restart in progress). */
const NOT_READY_NAMES = /^KafkaJS(GroupCoordinatorNotFound|BrokerNotFound|NoBrokerAvailableError|ConnectionError|ConnectionClosedError|NumberOfRetriesExceeded|RequestTimeoutError)$/;

/** Broker answers of a broker that has just started, or of topics still being created. */
const NOT_READY_TYPES = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Whether a kafkajs failure means the broker is not ready yet (starting, restarting,
 * electing leaders, creating topics) rather than a request it will refuse again. kafkajs
 * wraps some of these (no group coordinator, no leader) in a non-retriable error, so the
 * cause chain is searched. Used by the producer's connect, topic creation and the
 * consumers' own restart after a crash kafkajs gives up on.
 */
export function isKafkaNotReady(error: unknown): boolean {
  if (isTransientFailure(error)) return true;
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const { name, message, type, retriable, cause, originalError } = current as Record<string, unknown>;
    if (retriable === true) return true;
    if (typeof type === 'string' && NOT_READY_TYPES.has(type)) return true;
    if (typeof name === 'string' && NOT_READY_NAMES.test(name)) return true;
    if (typeof message === 'string' && /Failed to find group coordinator/.test(message)) return true;
    current = cause ?? originalError;
  }
  return false;
}
