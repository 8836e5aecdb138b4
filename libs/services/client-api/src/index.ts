export * from './client-api.module';
export * from './discovery.controller';
