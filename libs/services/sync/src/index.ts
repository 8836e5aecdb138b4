export * from './sync.module';
export { SYNC_GROUP } from './consumers/sync-group';
export { createSyncMetrics, type SyncMetrics } from './sync.metrics';
export { SYNC_PATH } from './api/sync.route';
