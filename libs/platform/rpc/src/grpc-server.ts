import { HealthDefinition } from '@axon/contracts-grpc';
import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import type { ServiceDefinition, ServiceImplementation } from './definition';
import { fromGrpcMetadata, passThrough, toGrpcMetadata } from './grpc-metadata';
import { HealthRegistry, ServingStatus, healthImplementation } from './health';
import { type RpcLogger, stderrLogger } from './logger';
import { type CallObserver, Dispatcher, type IncomingCall, MethodTable, type RegisteredMethod } from './server-core';
import { RpcStatus, RpcStatusError } from './status';

/**
 * A cancellation this close to the deadline is the deadline. The server's deadline is the
 * caller's timeout counted from when the request *arrived*, so it lies later than the
 * caller's own by the transit time; the caller's client cancels at its deadline, which
 * reaches us up to that transit time early (tens of ms on a loaded host). Calling such a
 * late cancellation a deadline only changes what the handler's signal says.
 */
const DEADLINE_SLACK_MS = 100;
/** After ending running calls at the shutdown timeout, how long their statuses get to flush. */
const FORCE_AFTER_MS = 1_000;

export interface GrpcServerOptions {
  readonly logger?: RpcLogger;
  /** How long `shutdown()` lets running calls finish before cutting them. Default 10 s. */
  readonly shutdownTimeoutMs?: number;
  /** Default: plaintext (in-cluster traffic; TLS is the mesh's or a later option's job). */
  readonly credentials?: grpc.ServerCredentials;
  /** grpc-js channel options, e.g. `grpc.max_receive_message_length`. */
  readonly channelOptions?: grpc.ServerOptions;
  /** Told of every finished call (a per-method call counter, for one). */
  readonly observeCall?: CallObserver;
}

/**
 * Serves generated service definitions over gRPC (@grpc/grpc-js), plus the standard
 * health service. Request decoding, deadlines, error mapping and tracing are the shared
 * server half (server-core.ts); this class only moves bytes and statuses.
 */
export class GrpcServer {
  readonly health = new HealthRegistry();
  private readonly server: grpc.Server;
  private readonly methods = new MethodTable();
  private readonly dispatcher: Dispatcher;
  private readonly logger: RpcLogger;
  private readonly credentials: grpc.ServerCredentials;
  private readonly shutdownTimeoutMs: number;
  /** Lifetimes of the calls being served, ended with UNAVAILABLE at the shutdown timeout. */
  private readonly running = new Set<AbortController>();
  private listening = false;
  private forcing = false;

  constructor(options: GrpcServerOptions = {}) {
    this.logger = options.logger ?? stderrLogger;
    this.dispatcher = new Dispatcher('grpc', this.logger, options.observeCall);
    this.credentials = options.credentials ?? grpc.ServerCredentials.createInsecure();
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    this.server = new grpc.Server(options.channelOptions);
    this.add(HealthDefinition, healthImplementation(this.health));
  }

  add<D extends ServiceDefinition>(service: D, implementation: ServiceImplementation<D>): this {
    this.methods.add(service, implementation);
    const definition: Record<string, grpc.MethodDefinition<Buffer, Uint8Array>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [key, method] of Object.entries(service.methods)) {
      const registered = this.registered(`/${service.fullName}/${method.name}`);
      definition[key] = {
        path: registered.path,
        requestStream: false,
        responseStream: method.responseStream,
        requestSerialize: passThrough.serialize,
        requestDeserialize: passThrough.deserialize,
        responseSerialize: passThrough.serialize,
        responseDeserialize: passThrough.deserialize,
      };
      handlers[key] = method.responseStream ? this.streamHandler(registered) : this.unaryHandler(registered);
    }
    this.server.addService(definition, handlers);
    if (this.listening) this.health.set(service.fullName, ServingStatus.SERVING);
    return this;
  }

  /**
   * Binds `host:port` (port 0 picks a free one) or `unix:/path` and starts serving;
   * resolves to the bound port. May be called once per address.
   */
  async listen(address: string): Promise<number> {
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, this.credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    if (!this.listening) {
      this.listening = true;
      this.health.set('', ServingStatus.SERVING);
      for (const service of this.methods.services()) this.health.set(service, ServingStatus.SERVING);
    }
    return port;
  }

  /**
   * Graceful stop: report NOT_SERVING and keep serving for `drainMs` so that balancers
   * and health watchers move traffic away, end health watches, then stop accepting calls
   * and let running ones finish for up to `shutdownTimeoutMs` before cutting them.
   */
  async shutdown(options: { drainMs?: number } = {}): Promise<void> {
    this.health.beginShutdown();
    if ((options.drainMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.drainMs));
    this.health.close();
    await new Promise<void>((resolve) => {
      let lastResort: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        clearTimeout(lastResort);
        resolve();
      };
      const timer = setTimeout(() => {
        this.logger.warn(
          { timeoutMs: this.shutdownTimeoutMs, running: this.running.size },
          'grpc calls still running at shutdown: ending them with UNAVAILABLE',
        );
        // Ending the calls ourselves tells callers UNAVAILABLE (retry elsewhere); cutting
        // the connections would tell them CANCELLED, as if they had given up.
        for (const call of this.running) call.abort(new RpcStatusError(RpcStatus.UNAVAILABLE, 'Server shut down'));
        lastResort = setTimeout(() => {
          this.forcing = true;
          this.server.forceShutdown();
          done();
        }, FORCE_AFTER_MS);
      }, this.shutdownTimeoutMs);
      this.server.tryShutdown((error) => {
        if (error !== undefined) {
          this.logger.warn({ err: error }, 'grpc graceful shutdown failed: forcing it');
          this.forcing = true;
          this.server.forceShutdown();
        }
        done();
      });
    });
  }

  private registered(path: string): RegisteredMethod {
    const method = this.methods.get(path);
    if (method === undefined) throw new Error(`${path} missing from the method table`);
    return method;
  }

  /**
   * The transport side of a call for the dispatcher. `ended` is set once grpc-js says the
   * call is gone (nothing more can be sent); `lifetime` may also be aborted by us, at
   * the shutdown timeout, while the call can still be answered.
   */
  private incoming(call: grpc.ServerUnaryCall<Buffer, Uint8Array> | grpc.ServerWritableStream<Buffer, Uint8Array>): {
    incoming: IncomingCall;
    lifetime: AbortController;
    ended: () => boolean;
    done: () => void;
  } {
    const lifetime = new AbortController();
    const grpcDeadline = call.getDeadline();
    const deadline = grpcDeadline instanceof Date ? grpcDeadline.getTime() : grpcDeadline;
    let gone = false;
    call.on('cancelled', () => {
      gone = true;
      // grpc-js reports the caller's cancellation, its own deadline timer (which fires
      // alongside ours) and a forced shutdown alike; tell the handler which it was.
      const status = this.forcing
        ? new RpcStatusError(RpcStatus.UNAVAILABLE, 'Server shut down')
        : Date.now() >= deadline - DEADLINE_SLACK_MS
          ? new RpcStatusError(RpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')
          : new RpcStatusError(RpcStatus.CANCELLED, 'Cancelled');
      lifetime.abort(status);
    });
    this.running.add(lifetime);
    return {
      incoming: { metadata: fromGrpcMetadata(call.metadata), deadline, cancelled: lifetime.signal },
      lifetime,
      ended: () => gone,
      done: () => this.running.delete(lifetime),
    };
  }

  private unaryHandler(method: RegisteredMethod): grpc.handleUnaryCall<Buffer, Uint8Array> {
    return (call, callback) => {
      const { incoming, done } = this.incoming(call);
      this.dispatcher
        .unary(method, call.request, incoming)
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(toServerError(error)),
        )
        .finally(done);
    };
  }

  private streamHandler(method: RegisteredMethod): grpc.handleServerStreamingCall<Buffer, Uint8Array> {
    return (call) => {
      const { incoming, lifetime, ended, done } = this.incoming(call);
      const pump = async (): Promise<void> => {
        try {
          for await (const response of this.dispatcher.serverStream(method, call.request, incoming)) {
            if (lifetime.signal.aborted) return; // leaving the loop stops the handler
            if (!call.write(response)) await drained(call, lifetime.signal);
          }
          if (!lifetime.signal.aborted) call.end();
        } catch (error) {
          if (!ended()) call.emit('error', toServerError(error));
        }
      };
      pump()
        .catch((error: unknown) => {
          this.logger.error({ method: method.path, err: error }, 'grpc stream could not be written');
        })
        .finally(done);
    };
  }
}

/** Waits for the stream's buffer to drain, or for the call to end. */
async function drained(call: grpc.ServerWritableStream<Buffer, Uint8Array>, cancelled: AbortSignal): Promise<void> {
  await once(call, 'drain', { signal: cancelled }).catch((error: unknown) => {
    if (!cancelled.aborted) throw error; // the call ended: the loop sees `cancelled` next
  });
}

function toServerError(error: unknown): grpc.ServerErrorResponse {
  // server-core rejects only with RpcStatusError; anything else is a defect here.
  const status = error instanceof RpcStatusError ? error : new RpcStatusError(RpcStatus.INTERNAL, 'Internal server error');
  return Object.assign(new Error(status.details), {
    // RpcStatus spells gRPC's own numbers (status.ts).
    code: status.code as number as grpc.status,
    details: status.details,
    metadata: toGrpcMetadata(status.trailers),
  });
}
