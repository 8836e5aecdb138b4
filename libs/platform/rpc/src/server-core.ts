import { MatrixError } from '@axon/matrix-errors';
import { context as otelContext } from '@opentelemetry/api';
import { atDeadline, raceAbort } from './abort';
import {
  type CallContext,
  type MethodDefinition,
  type RpcMetadata,
  type ServiceDefinition,
  type ServiceImplementation,
  methodPath,
  methodsOf,
} from './definition';
import { statusFromError, transportError } from './error-mapping';
import type { RpcLogger } from './logger';
import { extractTraceContext } from './metadata';
import { RpcStatus, RpcStatusError } from './status';
import { type RpcSystem, endSpan, startServerSpan } from './tracing';

/**
 * The server half of a call, shared by the gRPC server and the in-process binding: both
 * hand over request bytes and get response bytes or an `RpcStatusError`, so decoding,
 * deadlines, cancellation, trace context, error mapping and logging behave identically.
 */

type UnaryHandler = (request: unknown, ctx: CallContext) => Promise<unknown>;
type StreamHandler = (request: unknown, ctx: CallContext) => AsyncIterable<unknown>;

export interface RegisteredMethod {
  readonly path: string;
  readonly definition: MethodDefinition;
  readonly handler: UnaryHandler | StreamHandler;
}

/** A call as the transport received it. */
export interface IncomingCall {
  readonly metadata: RpcMetadata;
  /** ms since the epoch; `Infinity` when the caller set none. */
  readonly deadline: number;
  /** Aborted by the transport; its reason is the `RpcStatusError` (CANCELLED, UNAVAILABLE). */
  readonly cancelled: AbortSignal;
}

/** The methods a server serves, by gRPC path. */
export class MethodTable {
  private readonly methods = new Map<string, RegisteredMethod>();
  private readonly serviceNames = new Set<string>();

  add<D extends ServiceDefinition>(service: D, implementation: ServiceImplementation<D>): void {
    if (this.serviceNames.has(service.fullName)) throw new TypeError(`${service.fullName} is already registered`);
    const handlers = implementation as unknown as Readonly<Record<string, unknown>>;
    const added: RegisteredMethod[] = [];
    for (const [key, definition] of methodsOf(service)) {
      const handler = handlers[key];
      const path = methodPath(service, definition);
      if (typeof handler !== 'function') throw new TypeError(`${path} has no handler (expected ${key}())`);
      // Bound so that class-based implementations keep their `this`.
      added.push({ path, definition, handler: (handler as UnaryHandler).bind(implementation) });
    }
    this.serviceNames.add(service.fullName);
    for (const method of added) this.methods.set(method.path, method);
  }

  get(path: string): RegisteredMethod | undefined {
    return this.methods.get(path);
  }

  /** Full names of the registered services, e.g. `hs.platform.v1.Diagnostics`. */
  services(): string[] {
    return [...this.serviceNames];
  }
}

interface Started {
  readonly ctx: CallContext;
  /** Why the call was abandoned, once `ctx.signal` has aborted. */
  abortStatus(): RpcStatusError;
  /** The caller stopped reading a stream: abort the handler's signal as a cancellation. */
  abandon(): void;
  finish(failure: RpcStatusError | undefined): void;
}

/** Told of every call a server finished: its method path and status (`OK` or the failure's). */
export type CallObserver = (method: string, status: string) => void;

export class Dispatcher {
  constructor(
    private readonly system: RpcSystem,
    private readonly logger: RpcLogger,
    private readonly observe?: CallObserver,
  ) {}

  async unary(method: RegisteredMethod, requestBytes: Uint8Array, call: IncomingCall): Promise<Uint8Array> {
    const started = this.start(method, call);
    const { ctx } = started;
    let failure: RpcStatusError | undefined;
    try {
      const request = this.decodeRequest(method, requestBytes);
      const handler = method.handler as UnaryHandler;
      const pending = otelContext.with(ctx.traceContext, () => new Promise((resolve) => resolve(handler(request, ctx))));
      let response: unknown;
      try {
        response = await raceAbort(pending, ctx.signal);
      } catch (error) {
        if (ctx.signal.aborted) {
          this.watchLateFailure(method, pending, ctx.signal);
          throw started.abortStatus();
        }
        throw this.toStatus(method, error);
      }
      return this.encodeResponse(method, response);
    } catch (error) {
      failure = error instanceof RpcStatusError ? error : this.toStatus(method, error);
      throw failure;
    } finally {
      started.finish(failure);
    }
  }

  async *serverStream(method: RegisteredMethod, requestBytes: Uint8Array, call: IncomingCall): AsyncGenerator<Uint8Array> {
    const started = this.start(method, call);
    const { ctx } = started;
    let failure: RpcStatusError | undefined;
    let iterator: AsyncIterator<unknown> | undefined;
    let done = false;
    try {
      const request = this.decodeRequest(method, requestBytes);
      const handler = method.handler as StreamHandler;
      try {
        iterator = otelContext.with(ctx.traceContext, () => handler(request, ctx)[Symbol.asyncIterator]());
        for (;;) {
          const it: AsyncIterator<unknown> = iterator;
          const next = await raceAbort(otelContext.with(ctx.traceContext, () => it.next()), ctx.signal);
          if (next.done === true) {
            done = true;
            return;
          }
          yield this.encodeResponse(method, next.value);
        }
      } catch (error) {
        if (error instanceof RpcStatusError) throw error;
        throw ctx.signal.aborted ? started.abortStatus() : this.toStatus(method, error);
      }
    } catch (error) {
      failure = error instanceof RpcStatusError ? error : this.toStatus(method, error);
      throw failure;
    } finally {
      if (iterator !== undefined && !done) {
        started.abandon();
        this.stopIterator(method, iterator);
      }
      started.finish(failure);
    }
  }

  private start(method: RegisteredMethod, call: IncomingCall): Started {
    const { span, context } = startServerSpan(method.path, this.system, extractTraceContext(call.metadata));
    const controller = new AbortController();
    // Made only when a call ends early: an error (and its stack trace) per call is garbage
    // on every token lookup of every request.
    let abortStatus: RpcStatusError | undefined;
    const abort = (status: RpcStatusError): void => {
      if (controller.signal.aborted) return;
      abortStatus = status;
      // The handler sees the same MatrixError its caller is given.
      controller.abort(transportError(status.code, method.path));
    };
    const onCancel = (): void => {
      const reason: unknown = call.cancelled.reason;
      abort(reason instanceof RpcStatusError ? reason : new RpcStatusError(RpcStatus.CANCELLED, 'Cancelled'));
    };
    if (call.cancelled.aborted) onCancel();
    else call.cancelled.addEventListener('abort', onCancel, { once: true });
    const clearDeadline = atDeadline(call.deadline, () =>
      abort(new RpcStatusError(RpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')),
    );
    return {
      ctx: {
        method: method.path,
        metadata: call.metadata,
        deadline: call.deadline,
        signal: controller.signal,
        traceContext: context,
      },
      abortStatus: () => (abortStatus ??= new RpcStatusError(RpcStatus.CANCELLED, 'Cancelled')),
      abandon: () => abort(new RpcStatusError(RpcStatus.CANCELLED, 'Cancelled')),
      finish: (failure) => {
        clearDeadline();
        call.cancelled.removeEventListener('abort', onCancel);
        endSpan(span, failure);
        this.observe?.(method.path, failure === undefined ? 'OK' : (RpcStatus[failure.code] ?? String(failure.code)));
      },
    };
  }

  private decodeRequest(method: RegisteredMethod, bytes: Uint8Array): unknown {
    try {
      return method.definition.requestType.decode(bytes);
    } catch (error) {
      // Both ends run generated code, so undecodable bytes mean a contract mismatch
      // between deployed versions: a server-side defect, not the end user's bad input.
      this.logger.error({ method: method.path, err: error }, 'rpc request could not be decoded');
      throw new RpcStatusError(RpcStatus.INTERNAL, 'Request message could not be decoded');
    }
  }

  private encodeResponse(method: RegisteredMethod, response: unknown): Uint8Array {
    try {
      return method.definition.responseType.encode(response).finish();
    } catch (error) {
      this.logger.error({ method: method.path, err: error }, 'rpc handler returned a response that cannot be encoded');
      throw statusFromError(error);
    }
  }

  /** Maps a handler's failure; anything but a MatrixError is a defect and is logged. */
  private toStatus(method: RegisteredMethod, error: unknown): RpcStatusError {
    if (!(error instanceof MatrixError) && !(error instanceof RpcStatusError)) {
      this.logger.error({ method: method.path, err: error }, 'rpc handler failed');
    }
    return statusFromError(error);
  }

  /**
   * After a deadline or cancellation the caller is gone, but the handler may still fail:
   * failing with the signal's reason or a MatrixError is a normal way to stop; anything
   * else may be a defect worth a warning.
   */
  private watchLateFailure(method: RegisteredMethod, pending: Promise<unknown>, signal: AbortSignal): void {
    pending.then(undefined, (error: unknown) => {
      if (error === signal.reason || error instanceof MatrixError) return;
      this.logger.warn({ method: method.path, err: error }, 'rpc handler failed after its call ended');
    });
  }

  /**
   * Lets the handler's `finally` blocks run when the stream stops early. Not awaited: a
   * generator suspended in an await only returns once that await settles.
   */
  private stopIterator(method: RegisteredMethod, iterator: AsyncIterator<unknown>): void {
    iterator.return?.().then(undefined, (error: unknown) => {
      if (error instanceof MatrixError) return;
      this.logger.warn({ method: method.path, err: error }, 'rpc stream handler failed while stopping');
    });
  }
}
