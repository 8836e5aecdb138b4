import { Module, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { MessageBus } from '@axon/platform-bus';
import type { CacheClient } from '@axon/platform-cache';
import { Database } from '@axon/platform-database';
import { CACHE, InjectBus, InjectCache, ShutdownSequence, STAGE } from '@axon/platform-runtime';
import { RoomOutputConsumer } from './room-output.consumer';
import { SYNC_MIGRATIONS } from './storage/migrations';
import { SyncStore } from './storage/sync-store';
import { SyncController } from './sync.controller';
import { SyncService } from './sync.service';

/**
 * The sync service, wired into a process: builds its read model from
 * `hs.room.output.v1` and serves `/sync` long-polls.
 */
@Module({
  controllers: [SyncController],
  providers: [
    {
      provide: SyncStore,
      inject: [Database],
      useFactory: async (database: Database): Promise<SyncStore> => new SyncStore(await database.dataSource({ schema: 'sync', migrations: [...SYNC_MIGRATIONS] })),
    },
    {
      provide: SyncService,
      inject: [SyncStore, CACHE],
      useFactory: (store: SyncStore, cache: CacheClient): SyncService => new SyncService(store, cache.wakeups),
    },
  ],
})
export class SyncModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly store: SyncStore,
    private readonly service: SyncService,
    @InjectBus() private readonly bus: MessageBus,
    @InjectCache() private readonly cache: CacheClient,
    private readonly shutdown: ShutdownSequence,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const consumer = new RoomOutputConsumer(this.bus, this.store, this.cache.wakeups);
    await consumer.start();
    this.shutdown.add(STAGE.consumers, 'sync room output consumer', () => consumer.stop());
  }

  /** Long-polls answer now, so the HTTP listener's drain does not wait out their timeouts. */
  beforeApplicationShutdown(): void {
    this.service.release();
  }
}
