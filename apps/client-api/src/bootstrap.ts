import { startServiceApp, type RunningServiceApp } from '@axon/platform-http';
import type { ProcessContext } from '@axon/platform-process';
import { ClientApiModule, RoomsApiModule } from '@axon/services-client-api';

export function bootstrap(context: ProcessContext): Promise<RunningServiceApp> {
  return startServiceApp(context, { services: [ClientApiModule, RoomsApiModule], grpc: true });
}
