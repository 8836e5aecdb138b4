/**
 * Key and channel names, identical in both implementations. Every name starts with the
 * deployment's prefix so several deployments (or test runs) can share one Redis, and each
 * port has its own sub-namespace so a cache key can never collide with a bucket.
 */
export interface KeySpace {
  readonly prefix: string;
  channel(channel: string): string;
  entry(key: string): string;
  bucket(key: string): string;
}

export const DEFAULT_KEY_PREFIX = 'axon:';

export function keySpace(prefix: string = DEFAULT_KEY_PREFIX): KeySpace {
  return {
    prefix,
    channel: (channel) => `${prefix}wake:${channel}`,
    entry: (key) => `${prefix}cache:${key}`,
    bucket: (key) => `${prefix}rl:${key}`,
  };
}
