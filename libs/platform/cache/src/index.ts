export type {
  CacheLogger,
  CacheValue,
  RateLimitDecision,
  RateLimiter,
  RateLimitRule,
  TtlCache,
  Unsubscribe,
  WakeupListener,
  Wakeups,
} from './ports';
export {
  createCache,
  createInProcessCache,
  createRedisCache,
  type CacheClient,
  type CreateCacheOptions,
  type RedisClientOptions,
} from './create-cache';
export { createInProcessBackend, InProcessBackend, type InProcessBackendOptions } from './in-process/in-process-backend';
export { DEFAULT_KEY_PREFIX } from './keys';
export { enforceRateLimit } from './rate-limit-guard';
export { getJson, getOrLoadJson, setJson, type JsonParse } from './json-cache';
export { CacheClosedError } from './validation';
