import { startServiceApp, type RunningServiceApp } from '@axon/platform-http';
import type { ProcessContext } from '@axon/platform-process';
import { FederationSenderModule } from '@axon/services-federation-sender';

export function bootstrap(context: ProcessContext): Promise<RunningServiceApp> {
  return startServiceApp(context, { services: [FederationSenderModule] });
}
