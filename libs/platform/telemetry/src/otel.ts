export interface OtelSettings {
  /** OTLP/HTTP base endpoint, e.g. `http://127.0.0.1:4318`. */
  readonly endpoint: string;
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** How often metrics are pushed; defaults to 15 s. */
  readonly metricIntervalMs?: number;
}

/** A started OpenTelemetry SDK; `shutdown()` flushes pending spans and metrics. */
export interface OtelHandle {
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry NodeSDK (traces and metrics over OTLP/HTTP). Call it before
 * anything imports http, pg or ioredis: instrumentation patches modules as they load,
 * which is why entry points load their application code only after this returns.
 *
 * The SDK, its exporters and instrumentations are required here rather than imported at
 * the top: every process imports this library for its logger, and loading them costs
 * about 13 MB of heap and 50 MB resident, for nothing when no endpoint is configured.
 */
export function startOpenTelemetry(settings: OtelSettings): OtelHandle {
  // A synchronous load on purpose: instrumentation must be in place before this returns.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startOtelSdk } = require('./otel-sdk') as typeof import('./otel-sdk');
  return startOtelSdk(settings);
}
