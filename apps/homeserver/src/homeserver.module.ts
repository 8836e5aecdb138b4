import { type DynamicModule, Module } from '@nestjs/common';
import { HealthModule } from '@axon/platform-http';
import { RuntimeModule, type RuntimeOptions } from '@axon/platform-runtime';
import { ClientApiModule, RoomsApiModule } from '@axon/services-client-api';
import { FederationReceiverModule } from '@axon/services-federation-receiver';
import { RoomServerModule } from '@axon/services-room-server';
import { SyncModule } from '@axon/services-sync';

/** Every service in one process, on the transports the configuration picks. */
@Module({})
export class HomeserverModule {
  static forRoot(runtime: RuntimeOptions): DynamicModule {
    return {
      module: HomeserverModule,
      imports: [RuntimeModule.forRoot(runtime), HealthModule, RoomServerModule, ClientApiModule, RoomsApiModule, SyncModule, FederationReceiverModule],
    };
  }
}
