import type { Context } from '@opentelemetry/api';

/**
 * The shapes ts-proto emits with `outputServices=generic-definitions`, described
 * structurally so that any generated `XxxDefinition` fits without importing generated
 * helper types. Implementation and client types are derived from these; nobody writes a
 * per-service interface by hand.
 */

/** A generated message's codec (`MessageFns<T>` in ts-proto output). */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** One method of a generated service definition. */
export interface MethodDefinition<Req = unknown, Res = unknown> {
  readonly name: string;
  readonly requestType: MessageCodec<Req>;
  readonly requestStream: boolean;
  readonly responseType: MessageCodec<Res>;
  readonly responseStream: boolean;
}

/** A generated service definition, e.g. `DiagnosticsDefinition`. */
export interface ServiceDefinition {
  readonly name: string;
  readonly fullName: string;
  readonly methods: { readonly [method: string]: MethodDefinition };
}

/**
 * Text metadata of a call (gRPC headers): lower-case keys, printable ASCII values. Keys
 * ending in `-bin` travel as binary on gRPC and carry UTF-8 text here.
 */
export type RpcMetadata = Readonly<Record<string, string>>;

/** What a handler knows about the call it serves, the same in both bindings. */
export interface CallContext {
  /** The gRPC path, `/package.Service/Method`. */
  readonly method: string;
  /** The caller's metadata, including trace context headers. */
  readonly metadata: RpcMetadata;
  /**
   * When the caller stops waiting, in ms since the epoch. Axon clients always send one;
   * it is `Infinity` only for foreign callers (grpcurl without a timeout). Pass the
   * remainder on to downstream calls: `{ deadlineMs: ctx.deadline - Date.now() }`.
   */
  readonly deadline: number;
  /**
   * Aborted when the deadline passes, the caller cancels, or the server is forced to
   * shut down; `signal.reason` is then the `MatrixError` the caller sees. Hand it to
   * downstream calls and I/O so abandoned work stops.
   */
  readonly signal: AbortSignal;
  /** The OpenTelemetry context extracted from the metadata (the handler also runs in it). */
  readonly traceContext: Context;
}

/** Per-call options of a client method. */
export interface CallOptions {
  /** Overrides the client's default deadline, in ms from now. */
  readonly deadlineMs?: number;
  /** Cancels the call (the caller gets `M_UNKNOWN` 499, the handler's signal aborts). */
  readonly signal?: AbortSignal;
  readonly metadata?: RpcMetadata;
}

type RequestOf<M extends MethodDefinition> = ReturnType<M['requestType']['decode']>;
type ResponseOf<M extends MethodDefinition> = ReturnType<M['responseType']['decode']>;

// Client streaming and bidirectional methods map to `never`: nothing in Axon needs them
// yet, and a definition using them cannot be implemented or bound by accident.
type ImplementationMethod<M extends MethodDefinition> = M['requestStream'] extends true
  ? never
  : M['responseStream'] extends true
    ? (request: RequestOf<M>, ctx: CallContext) => AsyncIterable<ResponseOf<M>>
    : (request: RequestOf<M>, ctx: CallContext) => Promise<ResponseOf<M>>;

type ClientMethod<M extends MethodDefinition> = M['requestStream'] extends true
  ? never
  : M['responseStream'] extends true
    ? (request: RequestOf<M>, options?: CallOptions) => AsyncIterable<ResponseOf<M>>
    : (request: RequestOf<M>, options?: CallOptions) => Promise<ResponseOf<M>>;

/** What a service provides: one handler per method of the definition. */
export type ServiceImplementation<D extends ServiceDefinition> = {
  readonly [K in keyof D['methods']]: ImplementationMethod<D['methods'][K]>;
};

/**
 * What a caller holds: one method per method of the definition, the same type whether
 * it is bound over gRPC or in-process. Failures are always `MatrixError`s.
 */
export type ServiceClient<D extends ServiceDefinition> = {
  readonly [K in keyof D['methods']]: ClientMethod<D['methods'][K]>;
};

/** The gRPC path of a method, `/package.Service/Method`. */
export function methodPath(service: ServiceDefinition, method: MethodDefinition): string {
  return `/${service.fullName}/${method.name}`;
}

/** The methods of a definition, refusing the streaming shapes Axon does not support. */
export function methodsOf(service: ServiceDefinition): [key: string, method: MethodDefinition][] {
  const entries = Object.entries(service.methods);
  for (const [, method] of entries) {
    if (method.requestStream) {
      throw new TypeError(`${methodPath(service, method)}: client-streaming methods are not supported`);
    }
  }
  return entries;
}
