export * from './matrix-error';
