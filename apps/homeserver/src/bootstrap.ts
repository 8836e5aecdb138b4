import type { AxonConfig } from '@axon/platform-config';
import { createHttpApp, listen } from '@axon/platform-http';
import type { Logger, Metrics } from '@axon/platform-telemetry';
import { HomeserverModule } from './homeserver.module';

export interface Running {
  readonly port: number;
  close(): Promise<void>;
}

/** Builds the all-in-one application and starts its client listener. */
export async function bootstrap(config: AxonConfig, logger: Logger, metrics: Metrics, version: string): Promise<Running> {
  const app = await createHttpApp(HomeserverModule.forRoot({ config, logger, metrics, version }), { logger, metrics });
  const { host, port } = config.listen.client;
  const bound = await listen(app, host, port);
  // Nest closes the listener first (in-flight requests complete), then runs the
  // shutdown sequence: consumers drain and commit, producers flush, the database last.
  return { port: bound, close: () => app.close() };
}
