import { Module, type OnApplicationBootstrap } from '@nestjs/common';
import { KeyRingDefinition } from '@axon/contracts-grpc';
import type { AxonConfig } from '@axon/platform-config';
import { Database } from '@axon/platform-database';
import { Metrics, type Logger } from '@axon/platform-telemetry';
import { CONFIG, LOGGER, RpcHost, ServerKeys } from '@axon/platform-runtime';
import { createKeyRingService } from './api/key-ring.grpc';
import { KeysController } from './api/keys.controller';
import { NotaryController } from './api/notary.controller';
import { OpenIdUserInfoController } from './api/openid.controller';
import { VersionController } from './api/version.controller';
import { XMatrixGuard } from './api/x-matrix.guard';
import { createFederationReceiverMetrics, FEDERATION_RECEIVER_METRICS, type FederationReceiverMetrics } from './federation-receiver.metrics';
import { KeyRing } from './keys/key-ring';
import { OwnServerKeys } from './keys/own-server-keys';
import { RemoteKeySource } from './keys/remote-key-source';
import { FEDERATION_RECEIVER_MIGRATIONS } from './storage/migrations';
import { ServerKeysRepository } from './storage/server-keys.repository';

/**
 * The Server-Server API service that answers other servers (`/_matrix/key/*`,
 * `/_matrix/federation/*`): this server's keys, the notary endpoints, and the key ring
 * that checks other servers' keys, with `XMatrixGuard` for endpoints that need a signed
 * request; other processes reach the key ring through the `KeyRing` gRPC service.
 *
 * `RemoteKeySource` (the outbound requests for keys) is provided by whoever wires the
 * federation client into the process; without one, the key ring answers only this
 * server's keys and those it has stored.
 */
@Module({
  controllers: [KeysController, NotaryController, VersionController, OpenIdUserInfoController],
  providers: [
    {
      provide: ServerKeysRepository,
      inject: [Database],
      useFactory: async (database: Database): Promise<ServerKeysRepository> =>
        new ServerKeysRepository(await database.dataSource({ schema: 'federation_receiver', migrations: [...FEDERATION_RECEIVER_MIGRATIONS] })),
    },
    { provide: FEDERATION_RECEIVER_METRICS, inject: [Metrics], useFactory: createFederationReceiverMetrics },
    {
      provide: OwnServerKeys,
      inject: [CONFIG, ServerKeys],
      useFactory: (config: AxonConfig, keys: ServerKeys): OwnServerKeys =>
        new OwnServerKeys({
          serverName: config.server_name,
          signingKey: keys.signingKey,
          verifyKey: keys.verifyKey,
          backend: keys.backend,
          oldVerifyKeys: config.signing.old_verify_keys,
          keyValidityMs: config.signing.key_validity_ms,
        }),
    },
    {
      provide: KeyRing,
      inject: [ServerKeysRepository, CONFIG, OwnServerKeys, FEDERATION_RECEIVER_METRICS, LOGGER, { token: RemoteKeySource, optional: true }],
      useFactory: (storage: ServerKeysRepository, config: AxonConfig, own: OwnServerKeys, metrics: FederationReceiverMetrics, logger: Logger, remote: RemoteKeySource | undefined): KeyRing =>
        new KeyRing(storage, remote, { own, trustedKeyServers: config.federation.trusted_key_servers, backend: own.settings.backend, metrics, logger }),
    },
    XMatrixGuard,
  ],
})
export class FederationReceiverModule implements OnApplicationBootstrap {
  constructor(
    private readonly keyRing: KeyRing,
    private readonly rpc: RpcHost,
  ) {}

  onApplicationBootstrap(): void {
    this.rpc.serve(KeyRingDefinition, createKeyRingService(this.keyRing));
  }
}
