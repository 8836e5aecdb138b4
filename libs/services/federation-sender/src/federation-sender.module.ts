import { Module, type OnApplicationBootstrap } from '@nestjs/common';
import { RoomQueryDefinition } from '@axon/contracts-grpc';
import type { ServerName } from '@axon/matrix-identifiers';
import type { MessageBus } from '@axon/platform-bus';
import type { CacheClient } from '@axon/platform-cache';
import type { AxonConfig } from '@axon/platform-config';
import { Database } from '@axon/platform-database';
import { FederationClient, FederationClientModule } from '@axon/platform-federation';
import { InjectBus, InjectCache, InjectConfig, InjectLogger, RpcHost, ShutdownSequence, STAGE } from '@axon/platform-runtime';
import { Metrics, type Logger } from '@axon/platform-telemetry';
import { EduConsumer } from './consumers/edu.consumer';
import { RoomQueryMembership } from './consumers/room-membership';
import { RoomOutputConsumer } from './consumers/room-output.consumer';
import { DeliveryScheduler } from './delivery/delivery-scheduler';
import { TransactionSender } from './delivery/transaction-sender';
import { createFederationSenderMetrics, DEPTH_TOP_DESTINATIONS } from './federation-sender.metrics';
import { FEDERATION_SENDER_MIGRATIONS } from './storage/migrations';
import { SenderStorage } from './storage/sender-storage';

/**
 * The federation sender, wired into a process (the embedded homeserver, or
 * `apps/federation-sender`): queues what this server's users send (events from
 * `hs.room.output.v1`, typing, receipts, presence and to-device messages from the EDU
 * topics) per destination server, and delivers each destination's queue as transactions
 * (`PUT /_matrix/federation/v1/send/{txnId}`), one in flight per destination, under
 * shard leases shared by the replicas.
 */
@Module({ imports: [FederationClientModule] })
export class FederationSenderModule implements OnApplicationBootstrap {
  constructor(
    private readonly database: Database,
    private readonly client: FederationClient,
    @InjectConfig() private readonly config: AxonConfig,
    @InjectBus() private readonly bus: MessageBus,
    @InjectCache() private readonly cache: CacheClient,
    @InjectLogger() private readonly logger: Logger,
    private readonly rpc: RpcHost,
    private readonly shutdown: ShutdownSequence,
    private readonly metrics: Metrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { server_name, federation, presence } = this.config;
    // The configuration's server name passed the schema's server-name check.
    const serverName = server_name as ServerName;
    const logger = this.logger.child({ component: 'federation-sender' });
    const storage = new SenderStorage(await this.database.dataSource({ schema: 'federation_sender', migrations: [...FEDERATION_SENDER_MIGRATIONS] }), federation.sender.max_queued_pdus_per_room);
    const metrics = createFederationSenderMetrics(this.metrics, () => storage.depths(DEPTH_TOP_DESTINATIONS));
    const membership = new RoomQueryMembership(this.rpc.client(RoomQueryDefinition));
    const sender = new TransactionSender(storage, this.client, {
      origin: serverName,
      backoff: { baseMs: federation.sender.backoff_base_ms, maxMs: federation.sender.backoff_max_ms },
      logger,
      metrics,
    });
    const scheduler = new DeliveryScheduler(storage, (destination) => sender.sendNext(destination), logger, this.cache.wakeups);
    const rooms = new RoomOutputConsumer(this.bus, storage, membership, this.cache.wakeups, serverName, logger, metrics);
    const edus = new EduConsumer(this.bus, storage, membership, this.cache.wakeups, serverName, presence.enabled);
    this.shutdown.add(STAGE.consumers, 'federation sender consumers', async () => {
      await Promise.all([rooms.stop(), edus.stop()]);
    });
    this.shutdown.add(STAGE.producers, 'federation sender delivery', () => scheduler.stop());
    await Promise.all([rooms.start(), edus.start()]);
    await scheduler.start();
  }
}
