import { trace, isSpanContextValid } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redactSecrets } from './redact';

export type { Logger } from 'pino';

export interface LoggerSettings {
  readonly level: string;
  readonly service: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  readonly destination?: DestinationStream;
}

/**
 * Structured JSON logs (one object per line) that carry the active trace and span ids,
 * so a log line links to its trace in any OpenTelemetry backend, and never credentials.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    // Every object is scrubbed of credentials at any depth before it is written.
    formatters: { level: (label) => ({ level: label }), log: redactSecrets },
    // redactSecrets has already flattened errors (type, message, stack, fields).
    serializers: { err: (value: unknown) => value },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const ctx = span.spanContext();
      if (!isSpanContextValid(ctx)) return {};
      return { trace_id: ctx.traceId, span_id: ctx.spanId };
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
