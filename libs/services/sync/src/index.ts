export * from './sync.module';
export { SYNC_GROUP } from './room-output.consumer';
