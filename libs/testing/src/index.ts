export * from './homeserver-process';
export * from './spec-schemas';
export * from './otlp-collector';
export * from './distributed';
export * from './test-resources';
export * from './ports';
export * from './nest-routes';
export * from './spec-client';
