export * from './federation-receiver.module';
export * from './keys.controller';
export * from './openid.controller';
