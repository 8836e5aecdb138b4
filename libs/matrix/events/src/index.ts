export * from './pdu';
export * from './redaction';
export * from './pdu-validation';
export * from './build-pdu';
export * from './client-event';
export * from './history-visibility';
export * from './server-acl';
