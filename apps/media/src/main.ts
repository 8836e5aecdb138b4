import 'reflect-metadata';
import { runProcess } from '@axon/platform-process';

// The media repository. Media is not built yet: this process answers /health, /ready and
// /metrics, and M_UNRECOGNIZED for the media paths the routing table sends it.
runProcess({
  app: 'media',
  version: '0.1.0',
  start: async (context) => (await import('./bootstrap')).bootstrap(context),
});
