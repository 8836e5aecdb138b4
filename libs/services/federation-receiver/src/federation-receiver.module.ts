import { Module, type OnApplicationBootstrap } from '@nestjs/common';
import { AccountsDefinition, KeyRingDefinition, RemoteRoomsDefinition, RoomDirectoryDefinition, RoomQueryDefinition } from '@axon/contracts-grpc';
import type { ServerName } from '@axon/matrix-identifiers';
import type { MessageBus } from '@axon/platform-bus';
import type { CacheClient } from '@axon/platform-cache';
import type { AxonConfig } from '@axon/platform-config';
import { Database, type DataSource } from '@axon/platform-database';
import { FederationClient, FederationClientModule } from '@axon/platform-federation';
import { RoomInputClient } from '@axon/platform-room-input';
import { Metrics, type Logger } from '@axon/platform-telemetry';
import { BUS, CACHE, CONFIG, LOGGER, RpcHost, ServerKeys } from '@axon/platform-runtime';
import { MembershipController } from './api/membership.controller';
import { OwnServerName } from './api/own-server-name';
import { createRemoteRoomsService } from './api/remote-rooms.grpc';
import { QueriesController } from './api/queries.controller';
import { RoomHistoryController } from './api/room-history.controller';
import { TransactionsController } from './api/transactions.controller';
import { eventKeysFrom } from './keys/event-keys';
import { FederationKeySource } from './keys/federation-key-source';
import { PduIngest } from './pdus/pdu-ingest';
import type { EventKeySource } from './pdus/received-pdu';
import { federationRequests } from './remote-rooms/federation-requests';
import { RemoteJoin, type LocalSigner } from './remote-rooms/remote-join';
import { RemoteMembership } from './remote-rooms/remote-membership';
import { RemoteQueries } from './remote-rooms/remote-queries';
import { RoomAccess, type RoomQuery } from './rooms/room-access';
import { DirectoryQueries } from './serving/directory-queries';
import { InviteReception } from './serving/invite-reception';
import { MembershipHandshake } from './serving/membership-handshake';
import { RoomHistory } from './serving/room-history';
import { ReceivedTransactionsRepository } from './storage/received-transactions.repository';
import { EduIntake } from './transactions/edu-intake';
import { TransactionService } from './transactions/transaction.service';
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

const RECEIVER_DB = Symbol('FederationReceiverDataSource');
const ROOM_QUERY = Symbol('RoomQuery');
const EVENT_KEYS = Symbol('EventKeySource');
const SIGNER = Symbol('LocalSigner');
const ROOM_INPUTS = Symbol('RoomInputClient');

/**
 * The Server-Server API service that answers other servers (`/_matrix/key/*`,
 * `/_matrix/federation/*`): this server's keys, the notary endpoints, and the key ring
 * that checks other servers' keys, with `XMatrixGuard` for endpoints that need a signed
 * request; received transactions (PDUs to the room server, EDUs to their topics); the
 * resident side of the membership handshakes; reads of rooms by servers in them; and,
 * for client-api (`RemoteRooms`), local users joining rooms through other servers.
 * Other processes reach the key ring through the `KeyRing` gRPC service.
 */
@Module({
  imports: [FederationClientModule],
  controllers: [KeysController, NotaryController, VersionController, OpenIdUserInfoController, TransactionsController, MembershipController, RoomHistoryController, QueriesController],
  providers: [
    {
      provide: RECEIVER_DB,
      inject: [Database],
      useFactory: (database: Database): Promise<DataSource> => database.dataSource({ schema: 'federation_receiver', migrations: [...FEDERATION_RECEIVER_MIGRATIONS] }),
    },
    { provide: ServerKeysRepository, inject: [RECEIVER_DB], useFactory: (db: DataSource) => new ServerKeysRepository(db) },
    { provide: ReceivedTransactionsRepository, inject: [RECEIVER_DB], useFactory: (db: DataSource) => new ReceivedTransactionsRepository(db) },
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
    { provide: RemoteKeySource, inject: [FederationClient], useFactory: (client: FederationClient) => new FederationKeySource(client) },
    {
      provide: KeyRing,
      inject: [ServerKeysRepository, CONFIG, OwnServerKeys, FEDERATION_RECEIVER_METRICS, LOGGER, RemoteKeySource],
      useFactory: (storage: ServerKeysRepository, config: AxonConfig, own: OwnServerKeys, metrics: FederationReceiverMetrics, logger: Logger, remote: RemoteKeySource): KeyRing =>
        new KeyRing(storage, remote, { own, trustedKeyServers: config.federation.trusted_key_servers, backend: own.settings.backend, metrics, logger }),
    },
    XMatrixGuard,
    { provide: OwnServerName, inject: [CONFIG], useFactory: (config: AxonConfig) => new OwnServerName(config.server_name) },
    { provide: ROOM_QUERY, inject: [RpcHost], useFactory: (rpc: RpcHost): RoomQuery => rpc.client(RoomQueryDefinition) },
    { provide: EVENT_KEYS, inject: [KeyRing], useFactory: (keyRing: KeyRing): EventKeySource => eventKeysFrom(keyRing) },
    {
      provide: SIGNER,
      inject: [CONFIG, ServerKeys],
      useFactory: (config: AxonConfig, keys: ServerKeys): LocalSigner => ({ serverName: config.server_name as ServerName, key: keys.signingKey, backend: keys.backend }),
    },
    {
      provide: ROOM_INPUTS,
      inject: [BUS, CACHE, ROOM_QUERY],
      useFactory: (bus: MessageBus, cache: CacheClient, query: RoomQuery) => new RoomInputClient(bus, cache, query),
    },
    { provide: RoomAccess, inject: [ROOM_QUERY], useFactory: (query: RoomQuery) => new RoomAccess(query) },
    {
      provide: PduIngest,
      inject: [ROOM_QUERY, ROOM_INPUTS, FederationClient, EVENT_KEYS, ServerKeys, LOGGER, CONFIG],
      useFactory: (query: RoomQuery, inputs: RoomInputClient, client: FederationClient, keys: EventKeySource, serverKeys: ServerKeys, logger: Logger, config: AxonConfig) =>
        new PduIngest(
          {
            latestEvents: async (roomId) => (await query.getLatestEvents({ roomId })).events.map((e) => e.eventId as never),
            knownEvents: async (ids) => new Set((await query.getEvents({ eventIds: [...ids], includeOutliers: true })).events.map((e) => e.eventId as never)),
          },
          inputs,
          federationRequests(client),
          keys,
          serverKeys.backend,
          logger.child({ component: 'pdu-ingest' }),
          config.server_name,
        ),
    },
    {
      provide: EduIntake,
      inject: [BUS, ROOM_QUERY, RoomAccess, RpcHost, CONFIG, LOGGER],
      useFactory: (bus: MessageBus, query: RoomQuery, access: RoomAccess, rpc: RpcHost, config: AxonConfig, logger: Logger) => {
        const accounts = rpc.client(AccountsDefinition);
        return new EduIntake(
          bus,
          {
            isJoined: async (roomId, userId) => (await query.getMembership({ roomId, userId })).membership === 'join',
            aclAllows: (roomId, server) => access.aclAllows(roomId, server),
            devicesOf: async (userId) => (await accounts.listDevices({ userId })).deviceIds,
          },
          config.server_name,
          logger.child({ component: 'edu-intake' }),
        );
      },
    },
    {
      provide: TransactionService,
      inject: [ReceivedTransactionsRepository, RoomAccess, PduIngest, EduIntake, LOGGER],
      useFactory: (transactions: ReceivedTransactionsRepository, access: RoomAccess, pdus: PduIngest, edus: EduIntake, logger: Logger) =>
        new TransactionService(transactions, access, pdus, edus, logger.child({ component: 'transactions' })),
    },
    {
      provide: MembershipHandshake,
      inject: [ROOM_QUERY, RoomAccess, ROOM_INPUTS, EVENT_KEYS, SIGNER],
      useFactory: (query: RoomQuery, access: RoomAccess, inputs: RoomInputClient, keys: EventKeySource, signer: LocalSigner) => new MembershipHandshake(query, access, inputs, keys, signer),
    },
    {
      provide: DirectoryQueries,
      inject: [RpcHost, RoomAccess, CONFIG],
      useFactory: (rpc: RpcHost, access: RoomAccess, config: AxonConfig) => new DirectoryQueries(rpc.client(AccountsDefinition), rpc.client(RoomDirectoryDefinition), access, config.server_name),
    },
    {
      provide: InviteReception,
      inject: [RoomAccess, ROOM_INPUTS, EVENT_KEYS, SIGNER],
      useFactory: (access: RoomAccess, inputs: RoomInputClient, keys: EventKeySource, signer: LocalSigner) => new InviteReception(access, inputs, keys, signer),
    },
    {
      provide: RemoteMembership,
      inject: [FederationClient, ROOM_QUERY, MembershipHandshake, EVENT_KEYS, ROOM_INPUTS, SIGNER, LOGGER],
      useFactory: (client: FederationClient, query: RoomQuery, handshake: MembershipHandshake, keys: EventKeySource, inputs: RoomInputClient, signer: LocalSigner, logger: Logger) =>
        new RemoteMembership(federationRequests(client), query, handshake, keys, inputs, signer, logger.child({ component: 'remote-membership' })),
    },
    { provide: RoomHistory, inject: [ROOM_QUERY, RoomAccess, CONFIG], useFactory: (query: RoomQuery, access: RoomAccess, config: AxonConfig) => new RoomHistory(query, access, config.server_name) },
    {
      provide: RemoteJoin,
      inject: [FederationClient, EVENT_KEYS, ROOM_INPUTS, SIGNER, LOGGER],
      useFactory: (client: FederationClient, keys: EventKeySource, inputs: RoomInputClient, signer: LocalSigner, logger: Logger) =>
        new RemoteJoin(federationRequests(client), keys, inputs, signer, logger.child({ component: 'remote-join' })),
    },
  ],
})
export class FederationReceiverModule implements OnApplicationBootstrap {
  constructor(
    private readonly keyRing: KeyRing,
    private readonly remoteJoin: RemoteJoin,
    private readonly remoteMembership: RemoteMembership,
    private readonly client: FederationClient,
    private readonly rpc: RpcHost,
  ) {}

  onApplicationBootstrap(): void {
    this.rpc.serve(KeyRingDefinition, createKeyRingService(this.keyRing));
    this.rpc.serve(RemoteRoomsDefinition, createRemoteRoomsService(this.remoteJoin, new RemoteQueries(this.client), this.remoteMembership));
  }
}
