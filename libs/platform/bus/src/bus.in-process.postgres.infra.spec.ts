import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '@axon/platform-database';
import { ack } from './bus';
import { BUS_SCHEMA, IN_PROCESS_LOCK, InProcessBus } from './in-process/in-process-bus';
import { BUS_MIGRATIONS } from './in-process/migrations';
import { describeBusContract } from './testing/bus-contract';
import { describeCoalescedPublishContract, describeTransactionalPublishContract } from './testing/in-process-publish-contract';
import { eventually, quietLogger, TestNames } from './testing/contract-helpers';

const sharedUrl = process.env['AXON_DATABASE_URL'];
if (!sharedUrl) {
  throw new Error('AXON_DATABASE_URL is not set: start Postgres with `npm run infra:up` and `eval "$(deploy/local/env.sh --export)"`');
}
const dataDir = mkdtempSync(join(tmpdir(), 'axon-bus-pg-'));

/**
 * A database of this run's own on the server of AXON_DATABASE_URL (the role needs
 * CREATEDB): an open in-process bus locks its database (IN_PROCESS_LOCK), so runs sharing
 * one database would lock each other out.
 */
const ownDatabase = `axon_bus_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const url = (() => {
  const u = new URL(sharedUrl);
  u.pathname = `/${ownDatabase}`;
  return u.toString();
})();

/** Runs one statement on the shared database (CREATE/DROP DATABASE cannot run in the database itself). */
async function onSharedDatabase(sql: string): Promise<void> {
  const database = await Database.open({ url: sharedUrl, dataDir, poolSize: 1 });
  try {
    const dataSource = await database.dataSource({ schema: BUS_SCHEMA, migrations: [...BUS_MIGRATIONS] });
    await dataSource.query(sql);
  } finally {
    await database.close();
  }
}

beforeAll(async () => {
  try {
    await onSharedDatabase(`CREATE DATABASE "${ownDatabase}"`);
  } catch (err) {
    throw new Error(`cannot create the test database ${ownDatabase} (the role of AXON_DATABASE_URL needs CREATEDB): ${(err as Error).message}`, { cause: err });
  }
});
afterAll(async () => {
  await onSharedDatabase(`DROP DATABASE IF EXISTS "${ownDatabase}" WITH (FORCE)`);
  rmSync(dataDir, { recursive: true, force: true });
});

jest.setTimeout(120_000);
describeBusContract('in-process log on Postgres', () => ({ kind: 'in-process', dataDir, url }));
describeCoalescedPublishContract('in-process log on Postgres', () => ({ kind: 'in-process', dataDir, url }));
describeTransactionalPublishContract('in-process log on Postgres', () => ({ kind: 'in-process', dataDir, url }));

describe('in-process log on Postgres: one process per database', () => {
  const open = (): Promise<Database> => Database.open({ url, dataDir, poolSize: 2 });

  it('refuses a second open while the first bus is open, and allows it once that one closed', async () => {
    const first = await open();
    const second = await open();
    try {
      const bus = await InProcessBus.open(first, { logger: quietLogger });
      await expect(bus.ping()).resolves.toBeUndefined();
      await expect(InProcessBus.open(second, { logger: quietLogger })).rejects.toThrow(
        'another process holds the in-process bus on this database; use Kafka (kafka.brokers) to run several processes',
      );
      await bus.close();
      const again = await InProcessBus.open(second, { logger: quietLogger });
      await expect(again.ping()).resolves.toBeUndefined();
      await again.close();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('with lockWaitMs, waits for the holder to close', async () => {
    const first = await open();
    const second = await open();
    try {
      const bus = await InProcessBus.open(first, { logger: quietLogger });
      const waiting = InProcessBus.open(second, { logger: quietLogger, lockWaitMs: 20_000 });
      setTimeout(() => void bus.close(), 300);
      const again = await waiting;
      await again.close();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('refuses a pool of one connection (the lock would hold it)', async () => {
    const database = await Database.open({ url, dataDir, poolSize: 1 });
    try {
      await expect(InProcessBus.open(database, { logger: quietLogger })).rejects.toThrow(/at least 2 connections/);
    } finally {
      await database.close();
    }
  });

  it('releases the lock when the holding database closes without closing the bus', async () => {
    const first = await open();
    await InProcessBus.open(first, { logger: quietLogger });
    await first.close();
    const second = await open();
    try {
      const bus = await InProcessBus.open(second, { logger: quietLogger, lockWaitMs: 10_000 });
      await bus.close();
    } finally {
      await second.close();
    }
  });

  it('losing the connection that holds the lock stops every subscription and fails ping', async () => {
    const database = await open();
    const other = await open();
    const errors: string[] = [];
    const logger = {
      log: (level: string, message: string) => {
        if (level === 'error') errors.push(message);
      },
    };
    const bus = await InProcessBus.open(database, { logger, pollIntervalMs: 50 });
    try {
      const names = new TestNames();
      const topic = names.topic(1);
      const seen: number[] = [];
      await bus.subscribe(topic, names.group('lock'), (m) => {
        seen.push(m.value.seq);
        return ack;
      });
      await bus.publish(topic, [{ key: 'k', seq: 0 }]);
      await eventually('delivered while locked', () => seen.length === 1);

      const admin = await other.dataSource({ schema: BUS_SCHEMA, migrations: [...BUS_MIGRATIONS] });
      const killed: { pid: number }[] = await admin.query(
        `SELECT pg_terminate_backend(pid) AS killed, pid FROM pg_locks
          WHERE locktype = 'advisory' AND granted AND objid::bigint = (hashtext($1)::bigint & 4294967295)
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [IN_PROCESS_LOCK],
      );
      expect(killed).toHaveLength(1);
      await eventually('ping fails', () => errors.some((e) => /lost the connection holding the in-process bus lock/.test(e)), 10_000);
      await expect(bus.ping()).rejects.toThrow(/lost the connection holding its lock/);

      // Another process may own the log now: nothing more is delivered here.
      await bus.publish(topic, [{ key: 'k', seq: 1 }]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(seen).toEqual([0]);
      await expect(bus.subscribe(topic, names.group('late'), () => ack)).rejects.toThrow(/lost the connection holding its lock/);
    } finally {
      await bus.close();
      await database.close();
      await other.close();
    }
  });
});
