export * from './sync.module';
export { SYNC_GROUP } from './consumers/sync-group';
export { createSyncMetrics, type SyncMetrics } from './sync.metrics';
