import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { RpcHost, RuntimeModule, type RuntimeOptions } from '@axon/platform-runtime';
import { HealthModule, createHttpApp, listen } from './http-app';

/** The root module of a process: the runtime, the probes and the services it runs. */
@Module({})
class ServiceAppModule {}

export interface ServiceAppOptions {
  /** The service modules this process runs (one per service; all of them in the homeserver). */
  readonly services: readonly (Type<unknown> | DynamicModule)[];
  /** Also serve this process's gRPC services on `listen.grpc` (a service other processes query). */
  readonly grpc?: boolean;
}

export interface RunningServiceApp {
  /** Where it listens: `listen` (HTTP) and, when serving gRPC, `grpc`. */
  readonly addresses: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * Builds a process's Nest application on the transports the configuration picks and
 * starts its listeners: HTTP on `listen.client` (its routes, `/health`, `/ready`,
 * `/metrics`) and, for a service others query, gRPC on `listen.grpc`.
 */
export async function startServiceApp(runtime: RuntimeOptions, options: ServiceAppOptions): Promise<RunningServiceApp> {
  const { config, logger, metrics } = runtime;
  const root: DynamicModule = { module: ServiceAppModule, imports: [RuntimeModule.forRoot(runtime), HealthModule, ...options.services] };
  const app = await createHttpApp(root, { logger, metrics });
  await app.init();
  const addresses: Record<string, string> = {};
  if (options.grpc) {
    const { host, port } = config.listen.grpc;
    addresses['grpc'] = hostPort(host, await app.get(RpcHost).listenGrpc(hostPort(host, port)));
  }
  const { host, port } = config.listen.client;
  addresses['listen'] = hostPort(host, await listen(app, host, port));
  // Nest closes the listener first (in-flight requests complete), then runs the
  // shutdown sequence: consumers drain and commit, producers flush, the database last.
  return { addresses, close: () => app.close() };
}
