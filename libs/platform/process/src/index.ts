export * from './run-process';
export * from './idle-collector';
