import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createCache } from './create-cache';
import { describeCacheContract } from './testing/cache-contract';
import { Inbox, RecordingLogger } from './testing/contract-support';

const redisUrl = process.env['AXON_REDIS_URL'];
if (redisUrl === undefined || redisUrl === '') {
  throw new Error(
    'AXON_REDIS_URL is not set: the Redis contract suite needs a real Redis. Start one with ' +
      '`npm run infra:up`, then `source deploy/local/env.sh` (or set AXON_REDIS_URL=redis://host:port).',
  );
}

/** Every key of this run starts with it, so runs (and other users of the server) never meet. */
const runPrefix = `axon-test:${process.pid}-${randomBytes(4).toString('hex')}:`;

/** A plain connection for looking behind the library's back (PUBSUB, PTTL, SCRIPT FLUSH). */
let admin: Redis;
beforeAll(() => {
  admin = new Redis(redisUrl, { lazyConnect: false, commandTimeout: 5_000 });
});
afterAll(async () => {
  await deleteKeys(`${runPrefix}*`);
  await admin.quit();
});

async function deleteKeys(pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

let testNumber = 0;

// Each test gets its own prefix on the shared server; each open() is a separate client
// with its own two connections: a replica.
describeCacheContract('redis', () => {
  testNumber += 1;
  const testPrefix = `${runPrefix}${testNumber}:`;
  return {
    open: ({ keyPrefix = 'main', logger } = {}) =>
      createCache({ redisUrl, keyPrefix: `${testPrefix}${keyPrefix}:`, logger: logger ?? new RecordingLogger() }),
    teardown: () => deleteKeys(`${testPrefix}*`),
  };
});

describe('redis: behind the ports', () => {
  it('holds one Redis subscription per client and channel, however many listeners', async () => {
    const prefix = `${runPrefix}pubsub:`;
    const a = createCache({ redisUrl, keyPrefix: prefix });
    const b = createCache({ redisUrl, keyPrefix: prefix });
    const channel = `${prefix}wake:room`;
    const subscriptions = async (): Promise<number> => {
      const [, count] = (await admin.pubsub('NUMSUB', channel)) as [string, number];
      return count;
    };
    try {
      const inbox = new Inbox();
      const unsubscribeA = await Promise.all([1, 2, 3].map(() => a.wakeups.subscribe('room', inbox.listener)));
      const unsubscribeB = await b.wakeups.subscribe('room', inbox.listener);
      expect(await subscriptions()).toBe(2);

      await Promise.all(unsubscribeA.slice(0, 2).map((unsubscribe) => unsubscribe()));
      expect(await subscriptions()).toBe(2);
      await unsubscribeA[2]?.();
      await unsubscribeB();
      expect(await subscriptions()).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('expires cache entries and idle rate-limit buckets in Redis itself', async () => {
    const prefix = `${runPrefix}expiry:`;
    const client = createCache({ redisUrl, keyPrefix: prefix });
    try {
      await client.cache.set('k', 'v', 30_000);
      const entryTtl = await admin.pttl(`${prefix}cache:k`);
      expect(entryTtl).toBeGreaterThan(20_000);
      expect(entryTtl).toBeLessThanOrEqual(30_000);

      // Two tokens short at 10/s: full again in 200 ms, plus the script's second of slack.
      await client.rateLimiter.consume('k', { perSecond: 10, burst: 5 }, 2);
      const bucketTtl = await admin.pttl(`${prefix}rl:k`);
      expect(bucketTtl).toBeGreaterThan(0);
      expect(bucketTtl).toBeLessThanOrEqual(1_200);
    } finally {
      await client.close();
    }
  });

  it('falls back to EVAL when Redis has forgotten the rate-limit script', async () => {
    const client = createCache({ redisUrl, keyPrefix: `${runPrefix}noscript:` });
    try {
      const rule = { perSecond: 0.5, burst: 2 };
      expect((await client.rateLimiter.consume('k', rule)).remaining).toBe(1);
      await admin.script('FLUSH');
      expect(await client.rateLimiter.consume('k', rule)).toEqual({ allowed: true, retryAfterMs: 0, remaining: 0 });
      expect((await client.rateLimiter.consume('k', rule)).allowed).toBe(false);
    } finally {
      await client.close();
    }
  });
});
