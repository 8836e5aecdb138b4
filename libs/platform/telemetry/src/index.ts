export * from './logger';
export * from './metrics';
export * from './otel';
export * from './redact';
