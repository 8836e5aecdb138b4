import 'reflect-metadata';
import { runProcess } from '@axon/platform-process';

// Every service in one process, on the transports the configuration picks (embedded
// defaults unless database.url, kafka.brokers and redis.url are set).
runProcess({
  app: 'homeserver',
  version: '0.1.0',
  start: async (context) => (await import('./bootstrap')).bootstrap(context),
});
