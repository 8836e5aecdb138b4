import { roomStorageForWriter } from './input/writer-storage';
import { Module, type OnApplicationBootstrap } from '@nestjs/common';
import { RoomDirectoryDefinition, RoomQueryDefinition } from '@axon/contracts-grpc';
import type { MessageBus } from '@axon/platform-bus';
import type { CacheClient } from '@axon/platform-cache';
import type { AxonConfig } from '@axon/platform-config';
import { Database } from '@axon/platform-database';
import { Metrics, type Logger } from '@axon/platform-telemetry';
import { InjectBus, InjectCache, InjectConfig, InjectLogger, RpcHost, ServerKeys, ShutdownSequence, STAGE } from '@axon/platform-runtime';
import { createRoomDirectory } from './directory/room-directory';
import { RoomInputConsumer } from './input/room-input.consumer';
import { RemoteEventIngest } from './input/remote-event-ingest';
import { remoteEventStorage } from './input/remote-event-storage';
import { RoomWriter } from './input/room-writer';
import { OutboxRelay } from './output/outbox-relay';
import { relayedOutputs, transactionalOutputs } from './output/output-channel';
import { createRoomQuery } from './query/room-query';
import { createRoomServerMetrics } from './room-server.metrics';
import { ROOM_SERVER_MIGRATIONS } from './storage/migrations';
import { RoomStorage } from './storage/room-storage';

/**
 * The room server, wired into a process (the embedded homeserver, or `apps/room-server`):
 * the only writer of rooms. Consumes `hs.room.input.v1`, appends events with their state,
 * publishes `hs.room.output.v1` through its outbox, and serves `RoomQuery` and
 * `RoomDirectory` (aliases and the published room directory).
 */
@Module({
  providers: [
    {
      provide: RoomStorage,
      inject: [Database],
      useFactory: async (database: Database): Promise<RoomStorage> =>
        new RoomStorage(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] })),
    },
  ],
})
export class RoomServerModule implements OnApplicationBootstrap {
  constructor(
    private readonly storage: RoomStorage,
    @InjectConfig() private readonly config: AxonConfig,
    @InjectBus() private readonly bus: MessageBus,
    @InjectCache() private readonly cache: CacheClient,
    @InjectLogger() private readonly logger: Logger,
    private readonly keys: ServerKeys,
    private readonly rpc: RpcHost,
    private readonly shutdown: ShutdownSequence,
    private readonly metrics: Metrics,
    private readonly database: Database,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const signer = { serverName: this.config.server_name, key: this.keys.signingKey, backend: this.keys.backend };
    const metrics = createRoomServerMetrics(this.metrics);
    // Embedded PGlite has one connection, whose scans mark dead index entries as they pass:
    // a vacuum there costs more than it saves (measured: 12% fewer sends at 50 senders).
    const relay = new OutboxRelay(this.storage, this.bus, this.logger, this.cache.wakeups, {
      vacuumAfterRows: this.database.kind === 'postgres' ? undefined : false,
    });
    // The in-process bus's log is in this database: outputs go into it with the events.
    const publisher = this.bus.transactionalPublisher?.(this.database);
    const outputs = publisher === undefined ? relayedOutputs(this.storage, relay) : transactionalOutputs(this.bus, publisher, relay);
    this.logger.info({ outputs: publisher === undefined ? 'outbox' : 'bus log, in the appending transaction' }, 'room server outputs');
    const remote = new RemoteEventIngest(remoteEventStorage(this.storage, outputs.writeOutputs), { backend: this.keys.backend, serverName: this.config.server_name });
    const writer = new RoomWriter(roomStorageForWriter(this.storage, outputs.writeOutputs), signer, { metrics, remote });
    this.rpc.serve(RoomQueryDefinition, createRoomQuery(this.storage));
    this.rpc.serve(RoomDirectoryDefinition, createRoomDirectory(this.storage));
    const consumer = new RoomInputConsumer(this.bus, writer, outputs, this.cache.wakeups, metrics);
    if (publisher !== undefined) await outputs.start();
    await consumer.start();
    if (publisher === undefined) await outputs.start();
    this.shutdown.add(STAGE.consumers, 'room input consumer', () => consumer.stop());
    this.shutdown.add(STAGE.producers, 'room outputs', () => outputs.stop());
  }
}
