import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import type { MessageHeaders } from './bus';

/*
 * Trace context crosses the bus in W3C `traceparent` / `tracestate` headers, written by
 * whatever propagator the telemetry library registered (`propagation.inject`). With no
 * OpenTelemetry SDK configured every call here is a cheap no-op, and the headers are
 * simply absent.
 */

const tracer = trace.getTracer('@axon/platform-bus');

/**
 * Runs a publish inside a PRODUCER span (one per call, not per message) and hands `fn`
 * the headers carrying that span's context, to be added to every message.
 */
export async function withPublishSpan<R>(
  topic: string,
  system: string,
  count: number,
  fn: (traceHeaders: MessageHeaders) => Promise<R>,
): Promise<R> {
  const span = tracer.startSpan(`send ${topic}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': system,
      'messaging.operation.type': 'send',
      'messaging.destination.name': topic,
      'messaging.batch.message_count': count,
    },
  });
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  try {
    return await fn(carrier);
  } catch (err) {
    recordFailure(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs a handler inside a CONSUMER span whose parent is the context extracted from the
 * message's headers, so the handler's own spans (and `context.active()`) continue the
 * publisher's trace.
 */
export async function withConsumeSpan<R>(
  topic: string,
  headers: MessageHeaders,
  attributes: Attributes,
  fn: (span: Span) => Promise<R>,
): Promise<R> {
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const span = tracer.startSpan(
    `process ${topic}`,
    { kind: SpanKind.CONSUMER, attributes: { 'messaging.operation.type': 'process', 'messaging.destination.name': topic, ...attributes } },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } finally {
    span.end();
  }
}

export function recordFailure(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}
