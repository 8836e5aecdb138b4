export * from './room-versions';
