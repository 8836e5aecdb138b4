export * from './client-api.module';
export * from './discovery.controller';
export { AccessTokenGuard, accessTokenOf } from './auth/access-token.guard';
export { Requester } from './auth/requester';
export { SessionsService } from './auth/sessions.service';
export { RateLimits, type RateLimitedAction } from './auth/rate-limits';
export { RoomsApiModule } from './rooms/rooms-api.module';
