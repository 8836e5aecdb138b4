export * from './federation-receiver.module';
export * from './api/keys.controller';
export * from './api/notary.controller';
export * from './api/openid.controller';
export * from './api/version.controller';
export * from './keys/remote-key-source';
