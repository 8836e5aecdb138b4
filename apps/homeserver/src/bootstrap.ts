import { startServiceApp, type RunningServiceApp } from '@axon/platform-http';
import type { ProcessContext } from '@axon/platform-process';
import { ClientApiModule, RoomsApiModule } from '@axon/services-client-api';
import { FederationReceiverModule } from '@axon/services-federation-receiver';
import { RoomServerModule } from '@axon/services-room-server';
import { SyncModule } from '@axon/services-sync';

/** Builds the all-in-one application and starts its client listener. */
export function bootstrap(context: ProcessContext): Promise<RunningServiceApp> {
  return startServiceApp(context, {
    services: [RoomServerModule, ClientApiModule, RoomsApiModule, SyncModule, FederationReceiverModule],
  });
}
