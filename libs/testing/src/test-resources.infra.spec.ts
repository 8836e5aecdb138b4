import { randomBytes } from 'node:crypto';
import { mkdtempSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { distributedInfra } from './distributed';
import { destroyRecordedTestResources, destroyTestResources, type TestResources } from './test-resources';

jest.setTimeout(120_000);

const infra = distributedInfra();

/** A deployment's share of each: a database, two topics, three keys. */
async function makeResources(name: string): Promise<TestResources> {
  const admin = new Client({ connectionString: infra.postgres });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const kafka = new Kafka({ clientId: 'test-resources-spec', brokers: infra.kafkaBrokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await kafka.connect();
  try {
    await kafka.createTopics({ topics: [{ topic: `${name}.a`, numPartitions: 2 }, { topic: `${name}.b`, numPartitions: 1 }], waitForLeaders: true });
  } finally {
    await kafka.disconnect();
  }
  const redis = new Redis(infra.redis);
  try {
    await redis.mset(`axon:${name}:x`, '1', `axon:${name}:y`, '2', `axon:${name}:z:w`, '3');
  } finally {
    redis.disconnect();
  }
  return {
    postgres: { url: infra.postgres, database: name },
    kafka: { brokers: infra.kafkaBrokers, prefix: `${name}.` },
    redis: { url: infra.redis, prefix: `axon:${name}:` },
  };
}

/** What is left of `name`'s share: the database (or not), its topics, its keys. */
async function leftOf(name: string): Promise<{ database: boolean; topics: string[]; keys: string[] }> {
  const admin = new Client({ connectionString: infra.postgres });
  await admin.connect();
  let database: boolean;
  try {
    database = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await admin.end();
  }
  const kafka = new Kafka({ clientId: 'test-resources-spec', brokers: infra.kafkaBrokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await kafka.connect();
  let topics: string[];
  try {
    topics = (await kafka.listTopics()).filter((topic) => topic.startsWith(`${name}.`)).sort();
  } finally {
    await kafka.disconnect();
  }
  const redis = new Redis(infra.redis);
  try {
    return { database, topics, keys: (await redis.keys(`axon:${name}:*`)).sort() };
  } finally {
    redis.disconnect();
  }
}

const fresh = (): string => `axon_res_${randomBytes(6).toString('hex')}`;

describe('test resources on real Postgres, Kafka and Redis', () => {
  it("removes a deployment's database, topics and keys, and nothing of a neighbour's", async () => {
    const [mine, neighbour] = [fresh(), fresh()];
    const resources = await makeResources(mine);
    const theirs = await makeResources(neighbour);
    try {
      expect(await leftOf(mine)).toEqual({ database: true, topics: [`${mine}.a`, `${mine}.b`], keys: [`axon:${mine}:x`, `axon:${mine}:y`, `axon:${mine}:z:w`] });
      await destroyTestResources(resources);
      expect(await leftOf(mine)).toEqual({ database: false, topics: [], keys: [] });
      expect(await leftOf(neighbour)).toEqual({ database: true, topics: [`${neighbour}.a`, `${neighbour}.b`], keys: [`axon:${neighbour}:x`, `axon:${neighbour}:y`, `axon:${neighbour}:z:w`] });
      // Again: nothing left to remove is not an error.
      await destroyTestResources(resources);
    } finally {
      await destroyTestResources(theirs);
    }
    expect(await leftOf(neighbour)).toEqual({ database: false, topics: [], keys: [] });
  });

  it('drops a database a process still holds a connection to', async () => {
    const name = fresh();
    const resources = await makeResources(name);
    const url = new URL(infra.postgres);
    url.pathname = `/${name}`;
    const holder = new Client({ connectionString: url.toString() });
    await holder.connect();
    holder.on('error', () => undefined); // its connection is ended by the drop
    await destroyTestResources(resources);
    expect((await leftOf(name)).database).toBe(false);
    await holder.end().catch(() => undefined);
  });

  it('removes every recorded deployment, then the record directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-test-resources-'));
    const names = [fresh(), fresh()];
    for (const name of names) writeFileSync(join(dir, `${name}.json`), JSON.stringify(await makeResources(name)));
    expect(await destroyRecordedTestResources(dir)).toBe(2);
    for (const name of names) expect(await leftOf(name)).toEqual({ database: false, topics: [], keys: [] });
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses an empty prefix or an unsafe database name, and removes nothing', async () => {
    await expect(destroyTestResources({ kafka: { brokers: infra.kafkaBrokers, prefix: '' } })).rejects.toThrow(/empty prefix/);
    await expect(destroyTestResources({ redis: { url: infra.redis, prefix: '' } })).rejects.toThrow(/empty prefix/);
    await expect(destroyTestResources({ postgres: { url: infra.postgres, database: 'x; DROP DATABASE postgres' } })).rejects.toThrow(/not a safe resource name/);
  });
});
