import 'reflect-metadata';
import { runProcess } from '@axon/platform-process';

// The room server alone: consumes hs.room.input.v1 (its share of the partitions), appends
// events, publishes hs.room.output.v1 through its outbox, serves RoomQuery and
// RoomDirectory over gRPC. Run as many replicas as you like: Kafka's consumer group gives
// each room to one of them, and the compare-and-set on each room's head fences the rest.
runProcess({
  app: 'room-server',
  version: '0.1.0',
  start: async (context) => (await import('./bootstrap')).bootstrap(context),
});
