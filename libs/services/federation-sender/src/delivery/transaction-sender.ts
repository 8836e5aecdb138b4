import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import type { ServerName } from '@axon/matrix-identifiers';
import { FederationDestinationRefusedError, FederationNetworkError, FederationRequestError, FederationResponseError } from '@axon/platform-federation';
import type { FederationSenderMetrics } from '../federation-sender.metrics';
import { backoffDelay, type BackoffPolicy } from './backoff';
import type { DeliveryQueue, QueuedBatch } from './ports';
import { MAX_EDUS_PER_TRANSACTION, MAX_PDUS_PER_TRANSACTION, transactionBody, transactionId } from './transaction';

/** The outbound client as delivery uses it (`FederationClient` fits). */
export interface TransactionClient {
  put(destination: string, path: string, body: JsonObject): Promise<JsonValue>;
}

/** The sender's logger shape (pino's fits). */
export interface SenderLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface TransactionSenderOptions {
  /** `origin` of every transaction: this server's name. */
  readonly origin: ServerName;
  readonly backoff: BackoffPolicy;
  readonly logger: SenderLogger;
  readonly metrics?: FederationSenderMetrics;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * What one attempt came to:
 * - `idle`: nothing queued for the destination;
 * - `sent`: answered 200, the rows are gone;
 * - `dropped`: refused for good (a 4xx other than 404 / `M_UNRECOGNIZED`, or a
 *   destination the client may never contact), the rows are gone;
 * - `failed`: no usable answer, the destination backs off until `retryAt`.
 */
export type TransactionOutcome =
  | { readonly kind: 'idle' }
  | { readonly kind: 'sent'; readonly txnId: string }
  | { readonly kind: 'dropped'; readonly txnId: string }
  | { readonly kind: 'failed'; readonly txnId: string; readonly retryAt: number };

/**
 * Sends one destination's next transaction: its oldest 50 PDUs and, beside them, its
 * oldest 100 EDUs (EDUs never wait behind a PDU backlog), as
 * `PUT /_matrix/federation/v1/send/{txnId}`. The caller makes sure only one runs per
 * destination at a time.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#transactions
 */
export class TransactionSender {
  private readonly now: () => number;

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly client: TransactionClient,
    private readonly options: TransactionSenderOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async sendNext(destination: ServerName): Promise<TransactionOutcome> {
    const batch = await this.queue.peek(destination, MAX_PDUS_PER_TRANSACTION, MAX_EDUS_PER_TRANSACTION);
    if (batch.pdus.length === 0 && batch.edus.length === 0) return { kind: 'idle' };
    const txnId = transactionId(batch);
    const rows = { pdus: batch.pdus.map((row) => row.position), edus: batch.edus.map((row) => row.position) };
    const { metrics, logger } = this.options;
    let answer: JsonValue;
    try {
      answer = await this.client.put(destination, `/_matrix/federation/v1/send/${encodeURIComponent(txnId)}`, transactionBody(this.options.origin, batch, this.now()));
    } catch (error) {
      const failure = classify(error);
      if (failure === undefined) throw error;
      if (failure.kind === 'refused') {
        logger.warn({ destination, txnId, pdus: rows.pdus.length, edus: rows.edus.length, reason: failure.reason, err: error }, 'destination refused the transaction for good; its rows are dropped');
        await this.queue.remove(destination, rows, false);
        metrics?.transactionsFailed.inc({ reason: failure.reason });
        metrics?.pdusDropped.inc({ reason: 'refused' }, rows.pdus.length);
        return { kind: 'dropped', txnId };
      }
      const { failures } = await this.queue.state(destination);
      const delay = Math.min(this.options.backoff.maxMs, Math.max(backoffDelay(failures + 1, this.options.backoff, this.options.random), failure.retryAfterMs ?? 0));
      const retryAt = this.now() + delay;
      await this.queue.recordFailure(destination, failures + 1, retryAt);
      metrics?.transactionsFailed.inc({ reason: failure.reason });
      logger.info({ destination, txnId, failures: failures + 1, retryInMs: delay, reason: failure.reason, err: error }, 'transaction failed; backing off');
      return { kind: 'failed', txnId, retryAt };
    }
    await this.queue.remove(destination, rows, true);
    metrics?.transactionsSent.inc();
    metrics?.pdusSent.inc(rows.pdus.length);
    for (const edu of batch.edus) metrics?.edusSent.inc({ edu_type: edu.eduType });
    this.logPduErrors(destination, txnId, batch, answer);
    return { kind: 'sent', txnId };
  }

  /** A 200's per-PDU errors: the receiver had its reasons (rejected, unknown room...); a retry would meet them again. */
  private logPduErrors(destination: ServerName, txnId: string, batch: QueuedBatch, answer: JsonValue): void {
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return;
    const results = (answer as JsonObject)['pdus'];
    if (typeof results !== 'object' || results === null || Array.isArray(results)) return;
    const sent = new Set<string>(batch.pdus.map((row) => row.eventId));
    for (const [eventId, result] of Object.entries(results)) {
      if (!sent.has(eventId) || typeof result !== 'object' || result === null || Array.isArray(result)) continue;
      const error = (result as JsonObject)['error'];
      if (error !== undefined) this.options.logger.warn({ destination, txnId, eventId, error: String(error) }, 'destination did not accept a PDU');
    }
  }
}

type Failure = { readonly kind: 'retry'; readonly reason: FailureReason; readonly retryAfterMs?: number } | { readonly kind: 'refused'; readonly reason: FailureReason };

/** Bounded label values of `transactions_failed_total{reason}`. */
export type FailureReason = 'network' | 'bad_response' | 'server_error' | 'rate_limited' | 'timeout' | 'not_found' | 'rejected' | 'refused_destination';

/**
 * How a failed `PUT /send` is treated. No answer, an unusable answer, 5xx, 429 (after
 * its `retry_after_ms` at least, up to the longest backoff), 408, and 404 or `M_UNRECOGNIZED` (a server or proxy
 * that does not serve the endpoint yet) are retried with backoff; any other 4xx means
 * the destination refuses these rows and always will. Anything else (a database error)
 * is not the destination's doing: undefined, the caller rethrows it.
 */
function classify(error: unknown): Failure | undefined {
  if (error instanceof FederationNetworkError) return { kind: 'retry', reason: 'network' };
  if (error instanceof FederationResponseError) return { kind: 'retry', reason: 'bad_response' };
  if (error instanceof FederationDestinationRefusedError) return { kind: 'refused', reason: 'refused_destination' };
  if (!(error instanceof FederationRequestError)) return undefined;
  if (error.status >= 500) return { kind: 'retry', reason: 'server_error' };
  if (error.status === 429) {
    const after = (error.body as { retry_after_ms?: unknown } | undefined)?.retry_after_ms;
    return { kind: 'retry', reason: 'rate_limited', ...(typeof after === 'number' && after > 0 ? { retryAfterMs: after } : {}) };
  }
  if (error.status === 408) return { kind: 'retry', reason: 'timeout' };
  if (error.status === 404 || error.errcode === 'M_UNRECOGNIZED') return { kind: 'retry', reason: 'not_found' };
  return { kind: 'refused', reason: 'rejected' };
}
