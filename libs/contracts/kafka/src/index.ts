export * from './codec';
export * from './topic';
export * from './topics';
export * from './room-topics';
export * from './account-data-topic';
export * from './edu-topics';
export * from './sync-token';
