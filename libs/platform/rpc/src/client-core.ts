import type { MatrixError } from '@axon/matrix-errors';
import {
  type CallOptions,
  type MethodDefinition,
  type RpcMetadata,
  type ServiceClient,
  type ServiceDefinition,
  methodPath,
  methodsOf,
} from './definition';
import { ERRCODE_TRAILER, matrixErrorFromStatus, statusFromError } from './error-mapping';
import { type RpcLogger, stderrLogger } from './logger';
import { injectTraceContext, normalizeMetadata } from './metadata';
import { RpcStatus, RpcStatusError } from './status';
import { type RpcSystem, endSpan, startClientSpan } from './tracing';

/**
 * The client half of a call, shared by both bindings: deadlines, metadata, trace
 * context, encoding and the mapping of failures to `MatrixError` happen here once; a
 * transport only moves bytes and reports failures as `RpcStatusError`s.
 */

/** A call as handed to a transport. */
export interface OutgoingCall {
  readonly metadata: Readonly<Record<string, string>>;
  /** ms since the epoch; always finite. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
}

export interface ClientTransport {
  readonly system: RpcSystem;
  /** Rejects only with `RpcStatusError`. */
  unary(path: string, request: Uint8Array, call: OutgoingCall): Promise<Uint8Array>;
  /** Throws only `RpcStatusError`; returning early cancels the call. */
  serverStream(path: string, request: Uint8Array, call: OutgoingCall): AsyncIterable<Uint8Array>;
}

export interface ClientOptions {
  /**
   * Deadline of every call in ms, unless the call passes its own: there is no way to
   * make a call without one.
   */
  readonly deadlineMs: number;
  /** Metadata sent with every call; a call's own metadata wins per key. */
  readonly metadata?: RpcMetadata;
  readonly logger?: RpcLogger;
}

function checkDeadlineMs(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${what} must be a positive number of ms, got ${value}`);
  return value;
}

export function buildClient<D extends ServiceDefinition>(
  service: D,
  transport: ClientTransport,
  options: ClientOptions,
): ServiceClient<D> {
  const defaultDeadlineMs = checkDeadlineMs(options.deadlineMs, 'deadlineMs');
  const logger = options.logger ?? stderrLogger;

  const prepare = (method: MethodDefinition, path: string, request: unknown, callOptions: CallOptions | undefined) => {
    const deadlineMs =
      callOptions?.deadlineMs === undefined ? defaultDeadlineMs : checkDeadlineMs(callOptions.deadlineMs, 'deadlineMs');
    // Validated before the span starts: bad metadata is the caller's programming error
    // (TypeError), not a failed call.
    const metadata = normalizeMetadata({ ...options.metadata, ...callOptions?.metadata });
    const active = startClientSpan(path, transport.system);
    injectTraceContext(active.context, metadata);
    const call: OutgoingCall = { metadata, deadline: Date.now() + deadlineMs, signal: callOptions?.signal };
    let bytes: Uint8Array;
    try {
      bytes = method.requestType.encode(request).finish();
    } catch (error) {
      // What the wire cannot carry (an int32 out of range...) fails the same way in both
      // bindings, before anything is sent.
      logger.error({ method: path, err: error }, 'rpc request could not be encoded');
      const failure = statusFromError(error);
      endSpan(active.span, failure);
      throw matrixErrorFromStatus(failure, path);
    }
    return { call, bytes, span: active.span };
  };

  const fail = (path: string, error: unknown): { failure: RpcStatusError; error: MatrixError } => {
    const failure = error instanceof RpcStatusError ? error : statusFromError(error);
    if (failure.trailers[ERRCODE_TRAILER] === undefined && failure.code !== RpcStatus.CANCELLED) {
      // The caller gets a fixed wording (matrixErrorFromStatus); the details stay here.
      logger.warn({ method: path, code: RpcStatus[failure.code], details: failure.details }, 'rpc call failed in transport');
    }
    return { failure, error: matrixErrorFromStatus(failure, path) };
  };

  const decode = (method: MethodDefinition, path: string, bytes: Uint8Array): unknown => {
    try {
      return method.responseType.decode(bytes);
    } catch (error) {
      logger.error({ method: path, err: error }, 'rpc response could not be decoded');
      throw new RpcStatusError(RpcStatus.INTERNAL, 'Response message could not be decoded');
    }
  };

  const client: Record<string, unknown> = {};
  for (const [key, method] of methodsOf(service)) {
    const path = methodPath(service, method);
    client[key] = method.responseStream
      ? async function* serverStream(request: unknown, callOptions?: CallOptions): AsyncGenerator<unknown> {
          const { call, bytes, span } = prepare(method, path, request, callOptions);
          let failure: RpcStatusError | undefined;
          try {
            for await (const chunk of transport.serverStream(path, bytes, call)) yield decode(method, path, chunk);
          } catch (error) {
            const mapped = fail(path, error);
            failure = mapped.failure;
            throw mapped.error;
          } finally {
            endSpan(span, failure);
          }
        }
      : async function unary(request: unknown, callOptions?: CallOptions): Promise<unknown> {
          const { call, bytes, span } = prepare(method, path, request, callOptions);
          let failure: RpcStatusError | undefined;
          try {
            return decode(method, path, await transport.unary(path, bytes, call));
          } catch (error) {
            const mapped = fail(path, error);
            failure = mapped.failure;
            throw mapped.error;
          } finally {
            endSpan(span, failure);
          }
        };
  }
  // The mapped type cannot be built key by key; its shape is fixed by methodsOf(service).
  return client as ServiceClient<D>;
}
