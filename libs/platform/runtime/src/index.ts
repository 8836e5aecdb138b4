export * from './lifecycle';
export * from './runtime.module';
export * from './tokens';
export * from './rpc-host';
export * from './bus-defaults';
export * from './server-keys';
