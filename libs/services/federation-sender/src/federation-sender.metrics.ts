import type { Counter, Gauge, Metrics } from '@axon/platform-telemetry';
import type { QueueDepths } from './storage/pdu-queue.repository';

/** Destinations given a series of their own in the per-destination depth gauge: the deepest queues. */
export const DEPTH_TOP_DESTINATIONS = 20;

/**
 * The federation sender's instruments, `hs_<app>_federation_sender_*`. Queue depths are
 * read from the database when scraped (`observeDepths`), so every replica reports the
 * same shared queues: aggregate them with `max`, not `sum`.
 */
export interface FederationSenderMetrics {
  /** `{queue}` (`pdus`, `edus`): rows queued for every destination. */
  readonly queued: Gauge<'queue'>;
  /**
   * `{destination}`: PDUs and EDUs queued for each of the `DEPTH_TOP_DESTINATIONS`
   * deepest queues. A destination that leaves the top loses its series, so the label's
   * values stay bounded however many servers the rooms reach.
   */
  readonly queueDepth: Gauge<'destination'>;
  readonly transactionsSent: Counter;
  /** `{reason}`: network, bad_response, server_error, rate_limited, timeout, not_found (all retried), rejected, refused_destination (dropped). */
  readonly transactionsFailed: Counter<'reason'>;
  readonly pdusSent: Counter;
  /** `{edu_type}`: m.typing, m.receipt, m.presence, m.direct_to_device. */
  readonly edusSent: Counter<'edu_type'>;
  /** `{reason}`: catch_up (a room's backlog over the limit), refused (a transaction refused for good). */
  readonly pdusDropped: Counter<'reason'>;
}

/** Creates the instruments; `depths` is read at each scrape, when given. */
export function createFederationSenderMetrics(metrics: Metrics, depths?: () => Promise<{ readonly pdus: QueueDepths; readonly edus: QueueDepths }>): FederationSenderMetrics {
  const queued = metrics.gauge('federation_sender', 'queued', 'rows', 'PDUs and EDUs queued for other servers, by queue', ['queue']);
  const queueDepth = metrics.gauge('federation_sender', 'queue_depth', 'rows', `PDUs and EDUs queued per destination, for the ${DEPTH_TOP_DESTINATIONS} deepest queues`, ['destination']);
  if (depths !== undefined) {
    // prom-client awaits a gauge's collect before rendering it; both gauges share one read.
    let reading: Promise<void> | undefined;
    const read = (): Promise<void> => {
      reading ??= depths()
        .then(({ pdus, edus }) => {
          queued.set({ queue: 'pdus' }, pdus.total);
          queued.set({ queue: 'edus' }, edus.total);
          const per = new Map<string, number>();
          for (const { destination, rows } of [...pdus.deepest, ...edus.deepest]) per.set(destination, (per.get(destination) ?? 0) + rows);
          queueDepth.reset();
          for (const [destination, rows] of [...per].sort((a, b) => b[1] - a[1]).slice(0, DEPTH_TOP_DESTINATIONS)) queueDepth.set({ destination }, rows);
        })
        .finally(() => {
          reading = undefined;
        });
      return reading;
    };
    for (const gauge of [queued, queueDepth]) Object.assign(gauge, { collect: read });
  }
  return {
    queued,
    queueDepth,
    transactionsSent: metrics.counter('federation_sender', 'transactions_sent', 'Transactions other servers answered 200'),
    transactionsFailed: metrics.counter('federation_sender', 'transactions_failed', 'Transactions that failed (retried later) or were refused for good, by reason', ['reason']),
    pdusSent: metrics.counter('federation_sender', 'pdus_sent', 'PDUs in transactions other servers answered 200'),
    edusSent: metrics.counter('federation_sender', 'edus_sent', 'EDUs in transactions other servers answered 200, by type', ['edu_type']),
    pdusDropped: metrics.counter('federation_sender', 'pdus_dropped', 'Queued PDUs dropped unsent, by reason', ['reason']),
  };
}
