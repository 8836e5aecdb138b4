export * from './filter';
export * from './filter-match';
export * from './event-fields';
