/**
 * Injection tokens for values that are not classes (the frozen config, the pino
 * logger). Symbols, never strings, so a typo is a compile error, not a missing provider.
 */
export const CONFIG = Symbol('AxonConfig');
export const LOGGER = Symbol('Logger');
/** The process's {@link import('@axon/platform-cache').CacheClient}: wake-ups, TTL cache, rate limits. */
export const CACHE = Symbol('CacheClient');
/** The process's {@link import('@axon/platform-bus').MessageBus}: Kafka or the in-process log. */
export const BUS = Symbol('MessageBus');
/** The Axon version this process runs (a string), as the process reports it. */
export const VERSION = Symbol('AxonVersion');
