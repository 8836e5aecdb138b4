export * from './run-process';
export * from './idle-memory';
