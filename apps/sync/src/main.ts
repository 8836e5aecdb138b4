import 'reflect-metadata';
import { runProcess } from '@axon/platform-process';

// The sync service alone: builds its read model from hs.room.output.v1 and the EDU topics (its
// share of the partitions) and serves /sync and presence. Replicas share the read model,
// so a token from one is good on any other; long-polls are woken through Redis.
runProcess({
  app: 'sync',
  version: '0.1.0',
  start: async (context) => (await import('./bootstrap')).bootstrap(context),
});
