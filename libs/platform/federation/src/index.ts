export * from './errors';
export * from './ip-ranges';
export * from './resolver';
