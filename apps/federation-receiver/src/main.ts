import 'reflect-metadata';
import { runProcess } from '@axon/platform-process';

// The Server-Server API's receiving side alone: the server's signed keys, the notary
// endpoints (/_matrix/key/v2/*), the federation version, and the KeyRing gRPC service
// (other servers' verify keys) for the other services. Inbound transactions come later.
runProcess({
  app: 'federation-receiver',
  version: '0.1.0',
  start: async (context) => (await import('./bootstrap')).bootstrap(context),
});
