import 'reflect-metadata';
import { runProcess } from '@axon/platform-process';

// The Server-Server API's sending side alone: queues what this server's users send
// (hs.room.output.v1 and the EDU topics, its share of the partitions) per destination
// server and delivers the queues as transactions, under shard leases shared with the
// other replicas. Reaches the room server through grpc.targets (RoomQuery).
runProcess({
  app: 'federation-sender',
  version: '0.1.0',
  start: async (context) => (await import('./bootstrap')).bootstrap(context),
});
