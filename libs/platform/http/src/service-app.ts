import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { RpcHost, RuntimeModule, type RuntimeOptions } from '@axon/platform-runtime';
import { startFederationListener } from './federation-listener';
import { HealthModule, createHttpApp, listen } from './http-app';
import { startMetricsListener } from './metrics-listener';

/** The root module of a process: the runtime, the probes and the services it runs. */
@Module({})
class ServiceAppModule {}

export interface ServiceAppOptions {
  /** The service modules this process runs (one per service; all of them in the homeserver). */
  readonly services: readonly (Type<unknown> | DynamicModule)[];
  /** Also serve this process's gRPC services on `listen.grpc` (a service other processes query). */
  readonly grpc?: boolean;
  /**
   * Also serve the Server-Server API on `listen.federation` (HTTPS with `federation.tls`):
   * the processes that run the federation receiver.
   */
  readonly federation?: boolean;
}

export interface RunningServiceApp {
  /** Where it listens: `listen` (HTTP) and, when it serves them, `grpc`, `federation` and `metrics`. */
  readonly addresses: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * Builds a process's Nest application on the transports the configuration picks and
 * starts its listeners: HTTP on `listen.client` (its routes, and `/health`, `/ready`,
 * `/metrics` unless `listen.metrics` gives those a listener of their own), for a
 * service others query, gRPC on `listen.grpc`, and for the federation receiver the
 * Server-Server API on `listen.federation` (see `startFederationListener`).
 */
export async function startServiceApp(runtime: RuntimeOptions, options: ServiceAppOptions): Promise<RunningServiceApp> {
  const { config, logger, metrics } = runtime;
  // With a metrics listener of their own, the probes and the scrape leave the client listener.
  const opsOnClientListener = config.listen.metrics === undefined ? [HealthModule] : [];
  const root: DynamicModule = { module: ServiceAppModule, imports: [RuntimeModule.forRoot(runtime), ...opsOnClientListener, ...options.services] };
  const app = await createHttpApp(root, { logger, metrics });
  await app.init();
  const addresses: Record<string, string> = {};
  if (options.grpc) {
    const { host, port } = config.listen.grpc;
    addresses['grpc'] = hostPort(host, await app.get(RpcHost).listenGrpc(hostPort(host, port)));
  }
  const metricsAddress = config.listen.metrics;
  const opsListener = metricsAddress === undefined ? undefined : await startMetricsListener(app, config, metricsAddress.host, metricsAddress.port);
  if (metricsAddress !== undefined && opsListener !== undefined) addresses['metrics'] = hostPort(metricsAddress.host, opsListener.port);
  const federation = options.federation ? await startFederationListener(app, config) : undefined;
  if (federation !== undefined) {
    addresses['federation'] = hostPort(config.listen.federation.host, federation.port);
    logger.info({ federation: addresses['federation'], tls: federation.tls }, federation.tls ? 'federation listener serves HTTPS' : 'federation listener serves plain HTTP (federation.tls not set)');
  }
  const { host, port } = config.listen.client;
  addresses['listen'] = hostPort(host, await listen(app, host, port));
  return {
    addresses,
    close: async () => {
      // The federation listener first: it shares the app, whose shutdown must wait for
      // its requests. Then Nest closes the client listener (in-flight requests complete)
      // and runs the shutdown sequence: consumers drain and commit, producers flush, the
      // database last. The metrics listener stays up meanwhile: /ready says "draining".
      try {
        await federation?.close();
        await app.close();
      } finally {
        await opsListener?.close();
      }
    },
  };
}
