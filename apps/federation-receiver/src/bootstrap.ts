import { startServiceApp, type RunningServiceApp } from '@axon/platform-http';
import type { ProcessContext } from '@axon/platform-process';
import { FederationReceiverModule } from '@axon/services-federation-receiver';

export function bootstrap(context: ProcessContext): Promise<RunningServiceApp> {
  return startServiceApp(context, { services: [FederationReceiverModule], grpc: true, federation: true });
}
