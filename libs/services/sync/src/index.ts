export * from './sync.module';
export { SYNC_GROUP } from './room-output.consumer';
export { createSyncMetrics, type SyncMetrics } from './sync.metrics';
