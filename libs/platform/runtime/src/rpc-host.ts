import type { AxonConfig } from '@axon/platform-config';
import type { Metrics } from '@axon/platform-telemetry';
import {
  GrpcChannel,
  GrpcServer,
  InProcessServer,
  createGrpcClient,
  type RpcLogger,
  type ServiceClient,
  type ServiceDefinition,
  type ServiceImplementation,
} from '@axon/platform-rpc';

/**
 * Every channel spreads calls over all the addresses its target resolves to (several
 * replicas: `dns:///room-server-grpc:50051` on Kubernetes, `file:///…/room-server.targets`
 * from the local launcher) and retries a call that found a replica gone (UNAVAILABLE) on
 * another one. Every Axon RPC is a query, so a retry is always safe. The target is
 * resolved again whenever a connection closes, which servers make happen every
 * `grpc.max_connection_age_ms` (a DNS name's new replicas), and a `file:` target
 * whenever its file changes.
 */
const SERVICE_CONFIG = JSON.stringify({
  loadBalancingConfig: [{ round_robin: {} }],
  methodConfig: [
    {
      name: [{}],
      retryPolicy: {
        maxAttempts: 4,
        initialBackoff: '0.1s',
        maxBackoff: '1s',
        backoffMultiplier: 2,
        retryableStatusCodes: ['UNAVAILABLE'],
      },
    },
  ],
});

type Served = { definition: ServiceDefinition; implementation: ServiceImplementation<ServiceDefinition> };

/**
 * Where this process's gRPC services are served and how it reaches everyone else's.
 * Every service is served in-process; a process that `listenGrpc()`s also serves them
 * over gRPC. A client goes over gRPC when `grpc.targets` names an address for the
 * service's full name (e.g. `hs.roomserver.v1.RoomQuery: room-server:50051`), and
 * in-process otherwise: configuration alone picks the transport.
 */
export class RpcHost {
  readonly local: InProcessServer;
  private grpc: GrpcServer | undefined;
  private readonly served: Served[] = [];
  private readonly channels = new Map<string, GrpcChannel>();
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly config: AxonConfig,
    private readonly logger: RpcLogger,
    private readonly metrics?: Metrics,
  ) {
    this.local = new InProcessServer({ logger, shutdownTimeoutMs: config.shutdown.grace_ms });
  }

  serve<D extends ServiceDefinition>(definition: D, implementation: ServiceImplementation<D>): this {
    this.local.add(definition, implementation);
    this.grpc?.add(definition, implementation);
    this.served.push({ definition, implementation } as unknown as Served);
    return this;
  }

  client<D extends ServiceDefinition>(definition: D, deadlineMs = this.config.grpc.deadline_ms): ServiceClient<D> {
    const target = this.config.grpc.targets[definition.fullName];
    if (target === undefined) return this.local.client(definition, { deadlineMs, logger: this.logger });
    let channel = this.channels.get(target);
    if (!channel) {
      channel = new GrpcChannel(target, { channelOptions: { 'grpc.service_config': SERVICE_CONFIG } });
      this.channels.set(target, channel);
    }
    return createGrpcClient(definition, channel, { deadlineMs, logger: this.logger });
  }

  /** Serves every service (those added so far and later) over gRPC; resolves with the port. */
  async listenGrpc(address: string): Promise<number> {
    if (this.grpc) throw new Error('the gRPC listener is already started');
    const { max_connection_age_ms: age, max_connection_age_grace_ms: grace } = this.config.grpc;
    // `hs_<app>_rpc_server_calls_total{method,status}`: which replicas take calls (a new
    // one should within seconds of starting), and what they answer. Method paths come
    // from the contracts, so the series are bounded.
    const calls = this.metrics?.counter('rpc', 'server_calls', 'gRPC calls served by this process, by method path and status', ['method', 'status']);
    const server = new GrpcServer({
      logger: this.logger,
      ...(calls ? { observeCall: (method: string, status: string) => calls.inc({ method, status }) } : {}),
      shutdownTimeoutMs: this.config.shutdown.grace_ms,
      // Clients reconnect (and resolve their target again) once a connection is this old.
      channelOptions: age > 0 ? { 'grpc.max_connection_age_ms': age, 'grpc.max_connection_age_grace_ms': grace } : {},
    });
    for (const { definition, implementation } of this.served) server.add(definition, implementation);
    this.grpc = server;
    return server.listen(address);
  }

  get transport(): 'grpc' | 'in-process' {
    return this.grpc || Object.keys(this.config.grpc.targets).length > 0 ? 'grpc' : 'in-process';
  }

  /** Stops accepting calls (health turns NOT_SERVING); running calls finish. */
  stopServing(): Promise<void> {
    this.stopped ??= Promise.all([this.grpc?.shutdown(), this.local.shutdown()]).then(() => undefined);
    return this.stopped;
  }

  /** Stops serving (if not yet) and closes the channels to other processes. */
  async close(): Promise<void> {
    await this.stopServing();
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }
}
