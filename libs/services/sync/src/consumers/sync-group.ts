import type { SubscribeOptions } from '@axon/platform-bus';

/** The consumer group of sync replicas on every topic the sync read model is built from. */
export const SYNC_GROUP = 'sync';

/**
 * Sync applies each partition strictly in offset order (no concurrency across keys), so
 * that a partition's applied position is a low-water mark: a token built from positions
 * never passes a message that is still being applied.
 */
export const SYNC_SUBSCRIBE_OPTIONS: SubscribeOptions = { order: 'partition' };
