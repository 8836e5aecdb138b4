import { Module, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { MessageBus } from '@axon/platform-bus';
import type { CacheClient } from '@axon/platform-cache';
import type { AxonConfig } from '@axon/platform-config';
import { Database } from '@axon/platform-database';
import { Metrics } from '@axon/platform-telemetry';
import { BUS, CACHE, CONFIG, InjectBus, InjectCache, InjectConfig, ShutdownSequence, STAGE } from '@axon/platform-runtime';
import { EduConsumer } from './edu.consumer';
import { PresenceController } from './presence.controller';
import { PresenceService } from './presence.service';
import { RoomOutputConsumer } from './room-output.consumer';
import { EduStore } from './storage/edu-store';
import { SYNC_MIGRATIONS } from './storage/migrations';
import { SyncStore } from './storage/sync-store';
import { SyncController } from './sync.controller';
import { createSyncMetrics } from './sync.metrics';
import { SyncService } from './sync.service';

/**
 * The sync service, wired into a process: builds its read model from `hs.room.output.v1`
 * and the account data and EDU topics, serves `/sync` long-polls and presence.
 */
@Module({
  controllers: [SyncController, PresenceController],
  providers: [
    {
      provide: SyncStore,
      inject: [Database],
      useFactory: async (database: Database): Promise<SyncStore> => new SyncStore(await database.dataSource({ schema: 'sync', migrations: [...SYNC_MIGRATIONS] })),
    },
    { provide: EduStore, inject: [SyncStore], useFactory: (store: SyncStore): EduStore => new EduStore(store.db) },
    {
      provide: SyncService,
      inject: [SyncStore, EduStore, CACHE, CONFIG, Metrics],
      useFactory: (store: SyncStore, edus: EduStore, cache: CacheClient, config: AxonConfig, metrics: Metrics): SyncService =>
        new SyncService(store, edus, cache.wakeups, config.presence.enabled, createSyncMetrics(metrics)),
    },
    {
      provide: PresenceService,
      inject: [BUS, EduStore, CONFIG],
      useFactory: (bus: MessageBus, edus: EduStore, config: AxonConfig): PresenceService => new PresenceService(bus, edus, config.presence.enabled),
    },
  ],
})
export class SyncModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly store: SyncStore,
    private readonly edus: EduStore,
    private readonly service: SyncService,
    @InjectBus() private readonly bus: MessageBus,
    @InjectCache() private readonly cache: CacheClient,
    @InjectConfig() private readonly config: AxonConfig,
    private readonly shutdown: ShutdownSequence,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const consumer = new RoomOutputConsumer(this.bus, this.store, this.cache.wakeups);
    await consumer.start();
    this.shutdown.add(STAGE.consumers, 'sync room output consumer', () => consumer.stop());
    const edus = new EduConsumer(this.bus, this.edus, this.cache.wakeups, { enabled: this.config.presence.enabled, offlineAfterMs: this.config.presence.offline_after_ms });
    await edus.start();
    this.shutdown.add(STAGE.consumers, 'sync EDU consumer', () => edus.stop());
  }

  /** Long-polls answer now, so the HTTP listener's drain does not wait out their timeouts. */
  beforeApplicationShutdown(): void {
    this.service.release();
  }
}
