export * from './errors';
export * from './ip-ranges';
export * from './resolver';
export * from './well-known';
export * from './server-name-resolution';
export * from './federation-client';
export * from './federation-client.module';
