import 'reflect-metadata';
import { runProcess } from '@axon/platform-process';

// The Server-Server API's sending side. Federation does not exist yet, so this process
// consumes nothing: it runs the runtime (database, bus, cache) and answers /health,
// /ready and /metrics, so deployments have their shape before the service has its work.
runProcess({
  app: 'federation-sender',
  version: '0.1.0',
  start: async (context) => (await import('./bootstrap')).bootstrap(context),
});
