import type { Gauge, Metrics } from '@axon/platform-telemetry';

/** `hs_<app>_sync_long_polls_open`. */
export interface SyncMetrics {
  /** `/sync` requests that started waiting for news and have not answered yet. */
  readonly longPollsOpen: Gauge;
}

export function createSyncMetrics(metrics: Metrics): SyncMetrics {
  return {
    longPollsOpen: metrics.gauge('sync', 'long_polls', 'open', '/sync requests waiting for news (long-polls) in this process, from their first wait until they answer'),
  };
}
