import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

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
 */
export function startOpenTelemetry(settings: OtelSettings): OtelHandle {
  const base = settings.endpoint.replace(/\/+$/, '');
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: settings.serviceVersion,
    }),
    traceExporter: new OTLPTraceExporter({ url: `${base}/v1/traces` }),
    metricReaders: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
        exportIntervalMillis: settings.metricIntervalMs ?? 15000,
      }),
    ],
    instrumentations: [
      new HttpInstrumentation({
        // Health and scrape endpoints would drown real traffic in traces.
        ignoreIncomingRequestHook: (req) => /^\/(health|ready|metrics)\b/.test(req.url ?? ''),
      }),
      new PgInstrumentation(),
      new IORedisInstrumentation(),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
