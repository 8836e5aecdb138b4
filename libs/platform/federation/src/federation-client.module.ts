import { Module } from '@nestjs/common';
import type { AxonConfig } from '@axon/platform-config';
import { CONFIG, LOGGER, STAGE, ServerKeys, ShutdownSequence } from '@axon/platform-runtime';
import type { Logger } from '@axon/platform-telemetry';
import { FederationClient } from './federation-client';

/**
 * Gives a service module the process's one {@link FederationClient} (inject it by its
 * class), built from the configuration and the server's signing key of the
 * `RuntimeModule`. Its connections close with the other outbound connections at shutdown.
 */
@Module({
  providers: [
    {
      provide: FederationClient,
      inject: [CONFIG, LOGGER, ServerKeys, ShutdownSequence],
      useFactory: async (config: AxonConfig, logger: Logger, keys: ServerKeys, shutdown: ShutdownSequence): Promise<FederationClient> => {
        const client = await FederationClient.fromConfig(config, keys, logger.child({ component: 'federation-client' }));
        shutdown.add(STAGE.connections, 'federation client', () => client.close());
        return client;
      },
    },
  ],
  exports: [FederationClient],
})
export class FederationClientModule {}
