import 'reflect-metadata';
import { runProcess } from '@axon/platform-process';

// The Server-Server API's receiving side alone. So far it serves the server's signed keys
// (/_matrix/key/v2/server); inbound federation arrives with the federation issue.
runProcess({
  app: 'federation-receiver',
  version: '0.1.0',
  start: async (context) => (await import('./bootstrap')).bootstrap(context),
});
