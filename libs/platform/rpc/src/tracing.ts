import { type Context, type Span, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { RpcStatus, RpcStatusError } from './status';

// Spans follow the OpenTelemetry RPC conventions (rpc.system, rpc.service, rpc.method,
// rpc.grpc.status_code). Without a registered SDK they are non-recording, but they still
// carry the parent's trace id, so trace context propagates either way.
const tracer = trace.getTracer('@axon/platform-rpc');

/** `grpc` over a socket, `axon_in_process` for the embedded binding. */
export type RpcSystem = 'grpc' | 'axon_in_process';

export interface ActiveSpan {
  readonly span: Span;
  /** The context to run the call in: the parent plus this span. */
  readonly context: Context;
}

function start(path: string, kind: SpanKind, system: RpcSystem, parent: Context): ActiveSpan {
  const [service = '', method = ''] = path.slice(1).split('/');
  const span = tracer.startSpan(
    path.slice(1),
    { kind, attributes: { 'rpc.system': system, 'rpc.service': service, 'rpc.method': method } },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

export function startClientSpan(path: string, system: RpcSystem): ActiveSpan {
  return start(path, SpanKind.CLIENT, system, context.active());
}

export function startServerSpan(path: string, system: RpcSystem, parent: Context): ActiveSpan {
  return start(path, SpanKind.SERVER, system, parent);
}

/** Ends a span with the call's outcome: `undefined` for success, else its wire status. */
export function endSpan(span: Span, failure: RpcStatusError | undefined): void {
  span.setAttribute('rpc.grpc.status_code', failure?.code ?? RpcStatus.OK);
  if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure.details });
  span.end();
}
