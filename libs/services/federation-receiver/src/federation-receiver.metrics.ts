import type { Counter, Metrics } from '@axon/platform-telemetry';

/** Where the key ring looked for a server's keys. */
export type KeyFetchSource = 'direct' | 'notary';

/**
 * How one look-up at one source ended: `accepted` (checked, stored, and it gave the keys
 * asked for), `insufficient` (checked and stored, but without them or not valid long
 * enough), `refused` (the answer failed the checks: name, shape, signatures), `failed`
 * (no answer: unreachable, or not a 200 with JSON).
 */
export type KeyFetchOutcome = 'accepted' | 'insufficient' | 'refused' | 'failed';

/** Why an inbound federation request was refused by authentication. */
export type AuthRefusal = 'missing_header' | 'bad_header' | 'wrong_destination' | 'key_not_found' | 'bad_signature';

/**
 * The federation receiver's instruments: `hs_<app>_federation_receiver_key_fetches_total{source,outcome}`
 * and `hs_<app>_federation_receiver_requests_refused_total{reason}`.
 */
export interface FederationReceiverMetrics {
  readonly keyFetches: Counter<'source' | 'outcome'>;
  readonly requestsRefused: Counter<'reason'>;
}

/** The module's provider token for {@link FederationReceiverMetrics}. */
export const FEDERATION_RECEIVER_METRICS = Symbol('FederationReceiverMetrics');

export function createFederationReceiverMetrics(metrics: Metrics): FederationReceiverMetrics {
  return {
    keyFetches: metrics.counter('federation_receiver', 'key_fetches', "Look-ups of other servers' signing keys, by source (direct, notary) and outcome", ['source', 'outcome']),
    requestsRefused: metrics.counter('federation_receiver', 'requests_refused', 'Inbound federation requests refused by request authentication (401), by reason', ['reason']),
  };
}
