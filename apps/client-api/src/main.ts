import 'reflect-metadata';
import { runProcess } from '@axon/platform-process';

// The Client-Server API alone (/_matrix/client/* except sync, presence and media): publishes
// room inputs and EDUs, queries the room server over gRPC, serves Accounts over gRPC.
runProcess({
  app: 'client-api',
  version: '0.1.0',
  start: async (context) => (await import('./bootstrap')).bootstrap(context),
});
