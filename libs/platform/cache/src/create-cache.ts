import { createInProcessBackend, type InProcessBackend, type InProcessBackendOptions } from './in-process/in-process-backend';
import { InProcessRateLimiter } from './in-process/in-process-rate-limiter';
import { InProcessTtlCache } from './in-process/in-process-ttl-cache';
import { InProcessWakeups } from './in-process/in-process-wakeups';
import { keySpace } from './keys';
import { processWarningLogger } from './logger';
import type { CacheLogger, RateLimiter, TtlCache, Wakeups } from './ports';
import { RedisConnection } from './redis/redis-connection';
import { RedisRateLimiter } from './redis/redis-rate-limiter';
import { RedisTtlCache } from './redis/redis-ttl-cache';
import { RedisWakeups } from './redis/redis-wakeups';
import { CacheClosedError } from './validation';

export interface CreateCacheOptions {
  /** `redis://` or `rediss://` URL: Redis mode. Absent: in-process mode. */
  readonly redisUrl?: string;
  /** Prepended to every key and channel, so deployments can share a Redis. Default `axon:`. */
  readonly keyPrefix?: string;
  /** Where connection and listener errors are reported. Default: process warnings. */
  readonly logger?: CacheLogger;
  /**
   * In-process mode: the backend to share with other clients of this process (embedded
   * mode passes one to every module). Default: a new backend of its own.
   */
  readonly inProcessBackend?: InProcessBackend;
  /** In-process mode, when no backend is passed: options for the new one. */
  readonly inProcess?: InProcessBackendOptions;
  /** Redis mode: connection timeouts. */
  readonly redis?: RedisClientOptions;
}

export interface RedisClientOptions {
  /** TCP connect timeout per attempt. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Every command (and PING) fails after this long, also while reconnecting. Default 5 000 ms. */
  readonly commandTimeoutMs?: number;
  /** How long `ready()` waits for both connections. Default 10 000 ms. */
  readonly readyTimeoutMs?: number;
}

/** The three ports on one backend, plus lifecycle. */
export interface CacheClient {
  readonly kind: 'redis' | 'in-process';
  readonly wakeups: Wakeups;
  readonly cache: TtlCache;
  readonly rateLimiter: RateLimiter;
  /** Resolves when the backend is reachable; rejects with the reason (for boot). */
  ready(): Promise<void>;
  /** One round trip on every connection; rejects when the backend is not reachable (for `/ready`). */
  ping(): Promise<void>;
  /** Stops subscriptions and closes connections gracefully. Idempotent. */
  close(): Promise<void>;
}

/** Redis when `options.redisUrl` is given, in-process otherwise: configuration alone decides. */
export function createCache(options: CreateCacheOptions = {}): CacheClient {
  if (options.redisUrl === undefined) return createInProcessCache(options);
  return createRedisCache({ ...options, redisUrl: options.redisUrl });
}

export function createInProcessCache(options: Omit<CreateCacheOptions, 'redisUrl' | 'redis'> = {}): CacheClient {
  const backend = options.inProcessBackend ?? createInProcessBackend(options.inProcess);
  const keys = keySpace(options.keyPrefix);
  const wakeups = new InProcessWakeups(backend, keys, options.logger ?? processWarningLogger);
  const cache = new InProcessTtlCache(backend, keys);
  const rateLimiter = new InProcessRateLimiter(backend, keys);
  const detach = backend.attach();
  let closed = false;
  return {
    kind: 'in-process',
    wakeups,
    cache,
    rateLimiter,
    async ready() {
      if (closed) throw new CacheClosedError('in-process cache client');
    },
    async ping() {
      if (closed) throw new CacheClosedError('in-process cache client');
    },
    async close() {
      closed = true;
      wakeups.close();
      cache.close();
      rateLimiter.close();
      detach();
    },
  };
}

export function createRedisCache(options: CreateCacheOptions & { readonly redisUrl: string }): CacheClient {
  const url = options.redisUrl;
  // An empty or foreign URL must not quietly fall back to in-process mode: replicas would
  // then stop sharing wake-ups and limits with nobody noticing.
  if (!/^rediss?:\/\//.test(url)) {
    throw new RangeError('redisUrl must start with redis:// or rediss:// (omit it for in-process mode)');
  }
  const keys = keySpace(options.keyPrefix);
  const logger = options.logger ?? processWarningLogger;
  const connectTimeoutMs = options.redis?.connectTimeoutMs ?? 10_000;
  const commandTimeoutMs = options.redis?.commandTimeoutMs ?? 5_000;
  const readyTimeoutMs = options.redis?.readyTimeoutMs ?? 10_000;
  const connection = (role: 'command' | 'subscriber'): RedisConnection =>
    new RedisConnection({
      url,
      role,
      connectionName: `${keys.prefix}${role}`.replace(/[^A-Za-z0-9_.:-]/g, '_'),
      connectTimeoutMs,
      commandTimeoutMs,
      logger,
    });
  const command = connection('command');
  const subscriber = connection('subscriber');
  const wakeups = new RedisWakeups(command.redis, subscriber.redis, keys, logger);
  const cache = new RedisTtlCache(command.redis, keys);
  const rateLimiter = new RedisRateLimiter(command.redis, keys);
  let closing: Promise<void> | undefined;
  const assertOpen = (): void => {
    if (closing !== undefined) throw new CacheClosedError('Redis cache client');
  };
  return {
    kind: 'redis',
    wakeups,
    cache,
    rateLimiter,
    async ready() {
      assertOpen();
      await Promise.all([command.ready(readyTimeoutMs), subscriber.ready(readyTimeoutMs)]);
    },
    async ping() {
      assertOpen();
      await Promise.all([command.redis.ping(), subscriber.redis.ping()]);
    },
    close() {
      closing ??= (async () => {
        wakeups.close();
        cache.close();
        rateLimiter.close();
        await Promise.all([command.close(), subscriber.close()]);
      })();
      return closing;
    },
  };
}
