export * from './base64';
export * from './canonical-json';
export * from './canonical-json-parser';
