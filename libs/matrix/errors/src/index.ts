export * from './matrix-error';
export * from './result';
