import type { ServerName } from '@axon/matrix-identifiers';
import type { DestinationState, DueDestination } from '../storage/destinations.repository';
import type { EduToQueue, QueuedEdu } from '../storage/edu-queue.repository';
import type { PduToQueue, QueuedPdu } from '../storage/pdu-queue.repository';

export type { DestinationState, DueDestination, EduToQueue, PduToQueue, QueuedEdu, QueuedPdu };

/** The oldest rows of one destination's queues: what its next transaction carries. */
export interface QueuedBatch {
  readonly pdus: readonly QueuedPdu[];
  readonly edus: readonly QueuedEdu[];
}

/** One destination's queues and backoff, as delivery uses them. */
export interface DeliveryQueue {
  /** The oldest `pduLimit` PDUs and, independently, the oldest `eduLimit` EDUs of `destination`. */
  peek(destination: ServerName, pduLimit: number, eduLimit: number): Promise<QueuedBatch>;
  state(destination: ServerName): Promise<DestinationState>;
  /**
   * Removes the rows at these positions (sent, or refused for good) and, when the
   * destination `answered` (a 200), ends its backoff, in one transaction.
   */
  remove(destination: ServerName, rows: { readonly pdus: readonly string[]; readonly edus: readonly string[] }, answered: boolean): Promise<void>;
  recordFailure(destination: ServerName, failures: number, retryAt: number): Promise<void>;
}

/** Which destinations have work, and the shard leases that say which replica does it. */
export interface DeliveryDirectory {
  due(now: number, limit: number): Promise<DueDestination[]>;
  acquireLeases(holder: string, shards: readonly number[], now: number, ttlMs: number): Promise<number[]>;
  releaseLeases(holder: string, shards: readonly number[]): Promise<void>;
}

/** What the consumers write: PDUs and EDUs for destinations, committed together. */
export interface QueueWriter {
  /** Enqueues idempotently; resolves once committed, with the rows added and dropped (catch-up). */
  enqueue(rows: { readonly pdus?: readonly PduToQueue[]; readonly edus?: readonly EduToQueue[] }): Promise<{ readonly added: number; readonly dropped: number }>;
}
