import { startServiceApp, type RunningServiceApp } from '@axon/platform-http';
import type { ProcessContext } from '@axon/platform-process';
import { SyncModule } from '@axon/services-sync';

export function bootstrap(context: ProcessContext): Promise<RunningServiceApp> {
  return startServiceApp(context, { services: [SyncModule] });
}
