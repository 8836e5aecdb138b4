export * from './ed25519-backend';
export * from './signing-key';
export * from './json-signing';
export * from './x-matrix';
export * from './key-validity';
export * from './reference-hash';
export * from './event-id';
export * from './event-signing';
