import { HealthDefinition } from '@axon/contracts-grpc';
import { atDeadline, raceAbort } from './abort';
import { type ClientOptions, type ClientTransport, type OutgoingCall, buildClient } from './client-core';
import type { ServiceClient, ServiceDefinition, ServiceImplementation } from './definition';
import { HealthRegistry, ServingStatus, healthImplementation } from './health';
import { type RpcLogger, stderrLogger } from './logger';
import { Dispatcher, MethodTable, type RegisteredMethod } from './server-core';
import { RpcStatus, RpcStatusError } from './status';

/**
 * The embedded-mode binding: the same `ServiceClient<D>` as over gRPC, calling the
 * implementation in this process. It keeps gRPC's semantics on purpose, so that code
 * tested embedded behaves the same distributed: requests and responses go through the
 * generated encode/decode (what would not survive the wire fails here too, and nothing
 * is shared by reference), deadlines and cancellation abort the handler's signal, and
 * errors map exactly as they do over a socket (server-core.ts and client-core.ts are
 * shared with the gRPC binding).
 */

/** Admits calls while open; on shutdown waits for them, then aborts the stragglers. */
class CallGate {
  private closed = false;
  private readonly inFlight = new Set<AbortController>();
  private readonly idleWaiters = new Set<() => void>();

  /** Registers a call's lifetime controller; returns its release (idempotent). */
  enter(path: string, lifetime: AbortController): () => void {
    if (this.closed) throw new RpcStatusError(RpcStatus.UNAVAILABLE, `${path}: server is shut down`);
    this.inFlight.add(lifetime);
    return () => {
      if (!this.inFlight.delete(lifetime)) return;
      if (this.inFlight.size === 0) for (const wake of [...this.idleWaiters]) wake();
    };
  }

  /** Refuses new calls, waits up to `timeoutMs` for running ones, then aborts them. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, timeoutMs);
        function wake(): void {
          clearTimeout(timer);
          resolve();
        }
        this.idleWaiters.add(wake);
      });
      this.idleWaiters.clear();
    }
    for (const lifetime of [...this.inFlight]) {
      lifetime.abort(new RpcStatusError(RpcStatus.UNAVAILABLE, 'Server shut down'));
    }
  }
}

/**
 * One call's lifetime: aborted at the deadline, by the caller's signal, or by a forced
 * shutdown, with the `RpcStatusError` that ends it as the reason. The dispatcher gets it
 * as its cancellation signal, and the caller's side races against it.
 */
function callLifetime(call: OutgoingCall): { lifetime: AbortController; dispose: () => void } {
  const lifetime = new AbortController();
  const clearDeadline = atDeadline(call.deadline, () =>
    lifetime.abort(new RpcStatusError(RpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')),
  );
  const onCallerAbort = (): void => lifetime.abort(new RpcStatusError(RpcStatus.CANCELLED, 'Cancelled by the caller'));
  if (call.signal?.aborted === true) onCallerAbort();
  else call.signal?.addEventListener('abort', onCallerAbort, { once: true });
  lifetime.signal.addEventListener('abort', clearDeadline, { once: true });
  return {
    lifetime,
    dispose: () => {
      clearDeadline();
      call.signal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

class InProcessTransport implements ClientTransport {
  readonly system = 'axon_in_process';

  constructor(
    private readonly methods: MethodTable,
    private readonly dispatcher: Dispatcher,
    private readonly gate: CallGate,
    private readonly logger: RpcLogger,
  ) {}

  async unary(path: string, request: Uint8Array, call: OutgoingCall): Promise<Uint8Array> {
    const method = this.lookup(path);
    const { lifetime, dispose } = callLifetime(call);
    try {
      const release = this.gate.enter(path, lifetime);
      const pending = this.dispatcher.unary(method, request, this.incoming(call, lifetime));
      // In flight for shutdown until the server side is done, not just the caller.
      pending.then(release, release);
      // Bytes are fresh from encode() and decode() builds new objects: the caller never
      // shares a reference with the handler.
      return await raceAbort(pending, lifetime.signal);
    } finally {
      dispose();
    }
  }

  async *serverStream(path: string, request: Uint8Array, call: OutgoingCall): AsyncGenerator<Uint8Array> {
    const method = this.lookup(path);
    const { lifetime, dispose } = callLifetime(call);
    try {
      const release = this.gate.enter(path, lifetime);
      const responses = this.dispatcher.serverStream(method, request, this.incoming(call, lifetime));
      // However the call ends (deadline, caller's signal, forced shutdown, the caller
      // stopping its iteration, or the end of the stream) the server side is stopped and
      // the call leaves the in-flight set, as it does over gRPC.
      lifetime.signal.addEventListener(
        'abort',
        () => {
          release();
          responses.return(undefined).then(undefined, (error: unknown) => {
            if (error instanceof RpcStatusError) return; // the ending we just caused
            this.logger.warn({ method: path, err: error }, 'in-process stream failed while stopping');
          });
        },
        { once: true },
      );
      for (;;) {
        const next = await raceAbort(responses.next(), lifetime.signal);
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      dispose();
      if (!lifetime.signal.aborted) lifetime.abort(new RpcStatusError(RpcStatus.CANCELLED, 'Stream ended'));
    }
  }

  private lookup(path: string): RegisteredMethod {
    const method = this.methods.get(path);
    if (method === undefined) throw new RpcStatusError(RpcStatus.UNIMPLEMENTED, `${path} is not served here`);
    return method;
  }

  private incoming(call: OutgoingCall, lifetime: AbortController) {
    return { metadata: call.metadata, deadline: call.deadline, cancelled: lifetime.signal };
  }
}

export interface InProcessServerOptions {
  readonly logger?: RpcLogger;
  /** How long `shutdown()` waits for running calls before aborting them. Default 10 s. */
  readonly shutdownTimeoutMs?: number;
}

/**
 * The embedded counterpart of `GrpcServer`: services are added the same way, clients
 * come from `client()`, and it serves the health service with the same statuses.
 */
export class InProcessServer {
  readonly health = new HealthRegistry();
  private readonly methods = new MethodTable();
  private readonly gate = new CallGate();
  private readonly transport: InProcessTransport;
  private readonly shutdownTimeoutMs: number;

  constructor(options: InProcessServerOptions = {}) {
    const logger = options.logger ?? stderrLogger;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    this.transport = new InProcessTransport(this.methods, new Dispatcher('axon_in_process', logger), this.gate, logger);
    this.methods.add(HealthDefinition, healthImplementation(this.health));
    this.health.set('', ServingStatus.SERVING);
  }

  add<D extends ServiceDefinition>(service: D, implementation: ServiceImplementation<D>): this {
    this.methods.add(service, implementation);
    this.health.set(service.fullName, ServingStatus.SERVING);
    return this;
  }

  /** A client of a service of this server; calls to a service never added are UNIMPLEMENTED. */
  client<D extends ServiceDefinition>(service: D, options: ClientOptions): ServiceClient<D> {
    return buildClient(service, this.transport, options);
  }

  /**
   * Reports NOT_SERVING, keeps serving for `drainMs` (so watchers and balancers notice,
   * as over gRPC), then refuses new calls (UNAVAILABLE) and waits for running ones.
   */
  async shutdown(options: { drainMs?: number } = {}): Promise<void> {
    this.health.beginShutdown();
    if ((options.drainMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.drainMs));
    this.health.close();
    await this.gate.close(this.shutdownTimeoutMs);
  }
}

/**
 * A client bound directly to one implementation, for embedded mode and tests when no
 * server lifecycle is needed.
 */
export function createInProcessClient<D extends ServiceDefinition>(
  service: D,
  implementation: ServiceImplementation<D>,
  options: ClientOptions,
): ServiceClient<D> {
  const logger = options.logger ?? stderrLogger;
  const methods = new MethodTable();
  methods.add(service, implementation);
  const transport = new InProcessTransport(methods, new Dispatcher('axon_in_process', logger), new CallGate(), logger);
  return buildClient(service, transport, options);
}
