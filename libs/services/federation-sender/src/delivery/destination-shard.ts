import { createHash } from 'node:crypto';
import type { ServerName } from '@axon/matrix-identifiers';

/**
 * Delivery shards. Destinations are spread over a fixed number of shards, and sender
 * replicas take time-limited leases on shards (not `hash % replicas`), so adding or
 * removing a replica moves leases, never the mapping. Changing this number changes the
 * mapping: every replica of a deployment must agree on it, so it is a constant.
 */
export const DELIVERY_SHARDS = 64;

/** The shard of a destination: the first 32 bits of the SHA-256 of its name, modulo `DELIVERY_SHARDS`. */
export function destinationShard(destination: ServerName): number {
  return createHash('sha256').update(destination).digest().readUInt32BE(0) % DELIVERY_SHARDS;
}
