import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { DEFAULT_FILTER } from '@axon/matrix-filters';
import { createInProcessCache, type CacheClient } from '@axon/platform-cache';
import { Database } from '@axon/platform-database';
import { Metrics } from '@axon/platform-telemetry';
import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import { SYNC_MIGRATIONS } from './storage/migrations';
import { SyncStorage } from './storage/sync-repositories';
import type { ClientConnection } from './long-poll';
import { syncChannel } from './sync-channel';
import { createSyncMetrics } from './sync.metrics';
import { SyncService, type SyncRequest } from './sync.service';

const ALICE = '@alice:hs.test' as UserId;

describe('sync long-polls open (hs_<app>_sync_long_polls_open)', () => {
  let database: Database;
  let cache: CacheClient;
  let service: SyncService;
  const metrics = new Metrics('synctest');

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-sync-metrics-')), inMemory: true });
    cache = createInProcessCache();
    const storage = new SyncStorage(await database.dataSource({ schema: 'sync', migrations: [...SYNC_MIGRATIONS] }));
    service = new SyncService(storage, cache.wakeups, false, createSyncMetrics(metrics));
  });

  afterAll(async () => {
    await cache.close();
    await database.close();
  });

  async function open(): Promise<number> {
    const text = await metrics.registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith('hs_synctest_sync_long_polls_open '));
    return Number(line?.split(' ')[1]);
  }

  async function until(what: string, predicate: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('counts a /sync from its first wait until it answers: woken, aborted by the client, released at shutdown', async () => {
    const base: SyncRequest = { userId: ALICE, deviceId: 'D' as DeviceId, timeoutMs: 0, fullState: false, filter: DEFAULT_FILTER };
    const initial = await service.sync(base);
    const since = initial['next_batch'] as string;
    expect(await open()).toBe(0);

    // An initial sync or a timeout of 0 never waits.
    await service.sync({ ...base, since });
    expect(await open()).toBe(0);

    const aborted = new EventEmitter();
    const polls = [
      service.sync({ ...base, since, timeoutMs: 60_000 }),
      service.sync({ ...base, since, timeoutMs: 60_000, client: aborted as EventEmitter & ClientConnection }),
      service.sync({ ...base, since, timeoutMs: 60_000 }),
    ];
    await until('three waiting', async () => (await open()) === 3);

    aborted.emit('close');
    await polls[1];
    expect(await open()).toBe(2);

    // A wake-up with nothing new for the user: it recomputes and waits again, still open.
    await cache.wakeups.publish(syncChannel(ALICE), '');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await open()).toBe(2);

    service.release();
    await Promise.all(polls);
    expect(await open()).toBe(0);
  });
});
