export * from './homeserver-process';
export * from './spec-schemas';
