import { trace, isSpanContextValid } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line: credentials in requests, config and
 * errors. Matched at any of the first few nesting levels.
 */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  'new_password',
  'access_token',
  'refresh_token',
  'token',
  'shared_secret',
  'registration_shared_secret',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.password',
  '*.new_password',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  '*.shared_secret',
  '*.authorization',
  'req.query.access_token',
];

export interface LoggerSettings {
  readonly level: string;
  readonly service: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  readonly destination?: DestinationStream;
}

/**
 * Structured JSON logs (one object per line) that carry the active trace and span ids,
 * so a log line links to its trace in any OpenTelemetry backend.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
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
