import { Module, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { MessageBus } from '@axon/platform-bus';
import type { CacheClient } from '@axon/platform-cache';
import type { AxonConfig } from '@axon/platform-config';
import { Database } from '@axon/platform-database';
import { Metrics } from '@axon/platform-telemetry';
import { BUS, CACHE, CONFIG, InjectBus, InjectCache, InjectConfig, ShutdownSequence, STAGE } from '@axon/platform-runtime';
import { PresenceController } from './api/presence.controller';
import { SyncRoute } from './api/sync.route';
import { EduConsumer } from './consumers/edu.consumer';
import { RoomOutputConsumer } from './consumers/room-output.consumer';
import { PresenceService } from './presence.service';
import { SYNC_MIGRATIONS } from './storage/migrations';
import { SyncStorage } from './storage/sync-repositories';
import { createSyncMetrics, type SyncMetrics } from './sync.metrics';

const SYNC_METRICS = Symbol('SyncMetrics');
import { CatchUp } from './catch-up';
import { SyncService } from './sync.service';

/**
 * The sync service, wired into a process: builds its read model from `hs.room.output.v1`
 * and the account data and EDU topics, serves `/sync` long-polls and presence.
 */
@Module({
  controllers: [PresenceController],
  providers: [
    SyncRoute,
    {
      provide: SyncStorage,
      inject: [Database],
      useFactory: async (database: Database): Promise<SyncStorage> => new SyncStorage(await database.dataSource({ schema: 'sync', migrations: [...SYNC_MIGRATIONS] })),
    },
    { provide: SYNC_METRICS, inject: [Metrics], useFactory: createSyncMetrics },
    {
      provide: CatchUp,
      inject: [BUS, SyncStorage, SYNC_METRICS],
      useFactory: (bus: MessageBus, storage: SyncStorage, metrics: SyncMetrics): CatchUp => new CatchUp(bus, storage.positions, metrics),
    },
    {
      provide: SyncService,
      inject: [SyncStorage, CACHE, CONFIG, SYNC_METRICS, CatchUp],
      useFactory: (storage: SyncStorage, cache: CacheClient, config: AxonConfig, metrics: SyncMetrics, catchUp: CatchUp): SyncService =>
        new SyncService(storage, cache.wakeups, config.presence.enabled, metrics, catchUp),
    },
    {
      provide: PresenceService,
      inject: [BUS, SyncStorage, CONFIG, CatchUp],
      useFactory: (bus: MessageBus, storage: SyncStorage, config: AxonConfig, catchUp: CatchUp): PresenceService => new PresenceService(bus, storage, config.presence.enabled, catchUp),
    },
  ],
})
export class SyncModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly storage: SyncStorage,
    private readonly service: SyncService,
    @InjectBus() private readonly bus: MessageBus,
    @InjectCache() private readonly cache: CacheClient,
    @InjectConfig() private readonly config: AxonConfig,
    private readonly shutdown: ShutdownSequence,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const consumer = new RoomOutputConsumer(this.bus, this.storage.roomEvents, this.storage.accountData, this.cache.wakeups, this.storage.positions);
    const edus = new EduConsumer(this.bus, this.storage, this.cache.wakeups, { enabled: this.config.presence.enabled, offlineAfterMs: this.config.presence.offline_after_ms }, this.config.server_name);
    this.shutdown.add(STAGE.consumers, 'sync room output consumer', () => consumer.stop());
    this.shutdown.add(STAGE.consumers, 'sync EDU consumer', () => edus.stop());
    await Promise.all([consumer.start(), edus.start()]);
  }

  /** Long-polls answer now, so the HTTP listener's drain does not wait out their timeouts. */
  beforeApplicationShutdown(): void {
    this.service.release();
  }
}
