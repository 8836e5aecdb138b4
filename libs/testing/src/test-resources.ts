// What a test deployment leaves on shared infrastructure (its Postgres database, Kafka
// topics, Redis keys), and how to remove it. Imports nothing of the project,
// so Jest's global teardown (which does not map `@axon/*`) can load it.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';

/** A deployment's own share of Postgres, Kafka and Redis. */
export interface TestResources {
  /** A Postgres server URL and the name of the database the deployment made on it. */
  readonly postgres?: { readonly url: string; readonly database: string };
  /**
   * Brokers (comma-separated) and the prefix of every topic. Its consumer groups are left
   * to expire: one whose member was just killed cannot be deleted until the session ends.
   */
  readonly kafka?: { readonly brokers: string; readonly prefix: string };
  /** A Redis URL and the prefix of every key. */
  readonly redis?: { readonly url: string; readonly prefix: string };
}

/**
 * Set by the Jest global setup to a directory of its own: each test deployment records
 * its resources there, and the global teardown removes them once every suite has run (a
 * suite may restart a deployment on the same data, so a stop cannot remove them).
 * Unset (a launcher outside Jest), nothing is recorded and nothing is ever removed.
 */
export const TEST_RESOURCES_DIR_ENV = 'AXON_TEST_RESOURCES_DIR';

/** Records `resources` under `key` for the global teardown (if this is a test run). */
export function recordTestResources(key: string, resources: TestResources): void {
  const dir = process.env[TEST_RESOURCES_DIR_ENV];
  if (dir === undefined || dir === '') return;
  writeFileSync(join(dir, `${safeName(key)}.json`), JSON.stringify(resources));
}

/** Drops the database, deletes the topics and unlinks the keys; each step is idempotent. */
export async function destroyTestResources(resources: TestResources): Promise<void> {
  const failures: unknown[] = [];
  const attempt = async (step: () => Promise<void>): Promise<void> => {
    try {
      await step();
    } catch (err) {
      failures.push(err);
    }
  };
  if (resources.postgres) await attempt(() => dropDatabase(resources.postgres!.url, resources.postgres!.database));
  if (resources.kafka) await attempt(() => deleteKafkaPrefix(resources.kafka!.brokers, resources.kafka!.prefix));
  if (resources.redis) await attempt(() => unlinkRedisPrefix(resources.redis!.url, resources.redis!.prefix));
  if (failures.length > 0) throw new AggregateError(failures, `could not remove every test resource: ${failures.map((f) => (f as Error).message).join('; ')}`);
}

/** Removes every deployment recorded in `dir`, then `dir`; returns how many there were. */
export async function destroyRecordedTestResources(dir: string): Promise<number> {
  const files = readdirSync(dir).filter((name) => name.endsWith('.json'));
  const failures: unknown[] = [];
  for (const file of files) {
    try {
      await destroyTestResources(JSON.parse(readFileSync(join(dir, file), 'utf8')) as TestResources);
    } catch (err) {
      failures.push(err);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  if (failures.length > 0) {
    const why = failures.map((failure) => (failure as Error).message).join('; ');
    throw new AggregateError(failures, `${failures.length} of ${files.length} test deployments were not removed completely: ${why}`);
  }
  return files.length;
}

function safeName(name: string): string {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a safe resource name: ${JSON.stringify(name)}`);
  return name;
}

/**
 * Creates database `name` on the Postgres server at `serverUrl` unless it exists (a
 * restart reuses it) and returns its URL.
 */
export async function ensureTestDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${safeName(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    // FORCE ends any connection a killed process left behind.
    await admin.query(`DROP DATABASE IF EXISTS ${safeName(database)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

async function deleteKafkaPrefix(brokers: string, prefix: string): Promise<void> {
  if (prefix === '') throw new Error('refusing to delete every Kafka topic (empty prefix)');
  const admin = new Kafka({ clientId: 'axon-test-teardown', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}

async function unlinkRedisPrefix(url: string, prefix: string): Promise<void> {
  if (prefix === '') throw new Error('refusing to delete every Redis key (empty prefix)');
  // No reconnecting: an unreachable Redis fails this step instead of keeping Jest alive.
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, retryStrategy: () => null });
  try {
    await redis.connect();
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
