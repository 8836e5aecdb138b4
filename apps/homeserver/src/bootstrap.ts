import { startServiceApp, type RunningServiceApp } from '@axon/platform-http';
import type { ProcessContext } from '@axon/platform-process';
import { ClientApiModule, RoomsApiModule } from '@axon/services-client-api';
import { FederationReceiverModule } from '@axon/services-federation-receiver';
import { FederationSenderModule } from '@axon/services-federation-sender';
import { RoomServerModule } from '@axon/services-room-server';
import { SyncModule } from '@axon/services-sync';

/** Every service, in one process (its routes are the homeserver's routes). */
export const HOMESERVER_SERVICES = [RoomServerModule, ClientApiModule, RoomsApiModule, SyncModule, FederationReceiverModule, FederationSenderModule];

/** Builds the all-in-one application and starts its client and federation listeners. */
export function bootstrap(context: ProcessContext): Promise<RunningServiceApp> {
  return startServiceApp(context, { services: HOMESERVER_SERVICES, federation: true });
}
