export * from './default-rules';
