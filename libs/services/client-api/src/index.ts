export * from './client-api.module';
export * from './discovery.controller';
export { AccessTokenGuard } from './auth/access-token.guard';
export { Requester } from './auth/requester';
export { SessionsService } from './auth/sessions.service';
export { RateLimits, type RateLimitedAction } from './auth/rate-limits';
export { RoomsApiModule } from './rooms-api.module';
export { registrationSecretPath, readSecretFile } from './register/registration-secret';
export { registerWithSharedSecret, SharedSecretRegistrationError } from './register/shared-secret';
