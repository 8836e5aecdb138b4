import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
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
 * As `withPublishSpan`, for messages that each continue a trace context of their own
 * (`PublishOptions.traceContexts`): one PRODUCER span per distinct context, a child of
 * it, so a consumer of each message continues the trace that decided it. `fn` gets each
 * message's trace headers by index. Without `parents`, exactly `withPublishSpan`.
 */
export async function withPublishSpans<R>(
  topic: string,
  system: string,
  count: number,
  parents: readonly MessageHeaders[] | undefined,
  fn: (traceHeadersOf: (index: number) => MessageHeaders) => Promise<R>,
): Promise<R> {
  if (parents === undefined) return withPublishSpan(topic, system, count, (traceHeaders) => fn(() => traceHeaders));
  if (parents.length !== count) throw new RangeError(`traceContexts has ${parents.length} entries for ${count} messages`);
  const byParent = new Map<string, { span: Span; carrier: Record<string, string>; count: number }>();
  const perMessage: Record<string, string>[] = [];
  for (const parent of parents) {
    const id = JSON.stringify(Object.entries(parent).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let entry = byParent.get(id);
    if (!entry) {
      const parentContext = propagation.extract(ROOT_CONTEXT, parent);
      const span = tracer.startSpan(
        `send ${topic}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: { 'messaging.system': system, 'messaging.operation.type': 'send', 'messaging.destination.name': topic },
        },
        parentContext,
      );
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(parentContext, span), carrier);
      entry = { span, carrier, count: 0 };
      byParent.set(id, entry);
    }
    entry.count++;
    perMessage.push(entry.carrier);
  }
  for (const { span, count: messages } of byParent.values()) span.setAttribute('messaging.batch.message_count', messages);
  try {
    return await fn((index) => perMessage[index] ?? {});
  } catch (err) {
    for (const { span } of byParent.values()) recordFailure(span, err);
    throw err;
  } finally {
    for (const { span } of byParent.values()) span.end();
  }
}

/**
 * The active trace context as message headers (W3C `traceparent`/`tracestate` with the
 * default propagator), to be stored with work that is published later (an outbox row)
 * and handed back through `PublishOptions.traceContexts`. Empty without a span.
 */
export function currentTraceHeaders(): MessageHeaders {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** A message's CONSUMER span, started by `startConsumeSpan`; the caller ends it. */
export interface ConsumeSpan {
  readonly span: Span;
  /** The span in the context extracted from the message's headers: the handler's context. */
  readonly context: Context;
  /** That context as message headers (`DeliveredMessage.traceHeaders`). */
  readonly traceHeaders: MessageHeaders;
}

/**
 * Starts the CONSUMER span of one delivered message, a child of the context extracted
 * from its headers, so the handler's own spans (run in `context`) continue the publisher's
 * trace. One per message even when a handler takes a batch: each message's trace goes on.
 */
export function startConsumeSpan(topic: string, headers: MessageHeaders, attributes: Attributes): ConsumeSpan {
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const span = tracer.startSpan(
    `process ${topic}`,
    { kind: SpanKind.CONSUMER, attributes: { 'messaging.operation.type': 'process', 'messaging.destination.name': topic, ...attributes } },
    parent,
  );
  const spanContext = trace.setSpan(parent, span);
  const carrier: Record<string, string> = {};
  propagation.inject(spanContext, carrier);
  return { span, context: spanContext, traceHeaders: carrier };
}

export function recordFailure(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}
