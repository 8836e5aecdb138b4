import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { deadLetterTopic, receiptTopic, type ReceiptUpdate } from '@axon/contracts-kafka';
import { DEFAULT_FILTER } from '@axon/matrix-filters';
import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import { ack, InProcessBus } from '@axon/platform-bus';
import { createInProcessCache, type CacheClient } from '@axon/platform-cache';
import { Database } from '@axon/platform-database';
import { Metrics } from '@axon/platform-telemetry';
import { CatchUp, MAX_CATCH_UP_MS } from './catch-up';
import { EduConsumer } from './consumers/edu.consumer';
import { RoomOutputConsumer } from './consumers/room-output.consumer';
import { SYNC_MIGRATIONS } from './storage/migrations';
import { SyncStorage } from './storage/sync-repositories';
import { createSyncMetrics } from './sync.metrics';
import { emptySyncToken, SYNC_STREAMS, type SyncToken } from './sync-token';
import { SyncService, type SyncRequest } from './sync.service';

const ALICE = '@alice:hs.test' as UserId;
const ROOM = '!room:hs.test';

async function sample(metrics: Metrics, name: string, labels = ''): Promise<number> {
  const text = await metrics.registry.metrics();
  const lines = text.split('\n').filter((line) => line.startsWith(`${name}${labels}`) && (labels !== '' || /[ {]/.test(line[name.length] ?? '')));
  return lines.reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

async function until(what: string, predicate: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// The sync consumers on a real in-process bus (PGlite): a message the bus dead-letters
// must not hold back read-your-writes. Before, its partition's head stayed below the
// bus's end offset until the partition's next message, and every /sync meanwhile waited
// out the whole catch-up bound.
describe('catch-up past a dead-lettered message', () => {
  let database: Database;
  let bus: InProcessBus;
  let cache: CacheClient;
  let service: SyncService;
  let consumers: Array<{ stop(): Promise<void> }>;
  const metrics = new Metrics('catchuptest');
  const deadLettered: string[] = [];
  const base: SyncRequest = { userId: ALICE, deviceId: 'D' as DeviceId, timeoutMs: 0, fullState: false, filter: DEFAULT_FILTER };
  const timeouts = (): Promise<number> => sample(metrics, 'hs_catchuptest_sync_catch_up_timeouts_total');

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-sync-catch-up-')), inMemory: true });
    bus = await InProcessBus.open(database, { pollIntervalMs: 50 });
    cache = createInProcessCache();
    const storage = new SyncStorage(await database.dataSource({ schema: 'sync', migrations: [...SYNC_MIGRATIONS] }));
    const syncMetrics = createSyncMetrics(metrics);
    service = new SyncService(storage, cache.wakeups, false, syncMetrics, new CatchUp(bus, storage.positions, syncMetrics));
    const rooms = new RoomOutputConsumer(bus, storage.roomEvents, storage.accountData, cache.wakeups, storage.positions);
    const edus = new EduConsumer(bus, storage, cache.wakeups, { enabled: false, offlineAfterMs: 60_000 }, 'hs.test');
    await rooms.start();
    await edus.start();
    consumers = [rooms, edus];
    await bus.subscribe(deadLetterTopic(receiptTopic), 'test-dlq', (message) => {
      deadLettered.push(message.offset);
      return ack;
    });
  });

  afterAll(async () => {
    for (const consumer of consumers ?? []) await consumer.stop();
    await bus?.close();
    await cache?.close();
    await database?.close();
  });

  const receipt = (eventId: string): ReceiptUpdate => ({ room_id: ROOM, user_id: ALICE, receipt_type: 'm.read', event_id: eventId, ts: 1_700_000_000_000 });

  it('answers without waiting out the bound once the only unapplied message of a partition is dead-lettered', async () => {
    await service.sync(base);
    await bus.publish(receiptTopic, [receipt('$good')]);
    await service.sync(base);
    expect(await timeouts()).toBe(0);

    // A NUL character the database cannot store: a permanent failure, dead-lettered at its first attempt.
    await bus.publish(receiptTopic, [receipt('$poison\u0000')]);
    await until('the poisoned receipt is dead-lettered', () => deadLettered.length === 1);

    const syncs = await Promise.all([service.sync(base), service.sync(base), service.sync(base)]);
    expect(syncs.every((answer) => typeof answer['next_batch'] === 'string')).toBe(true);
    expect(await timeouts()).toBe(0);
    expect(await sample(metrics, 'hs_catchuptest_sync_catch_up_wait_seconds_count')).toBeGreaterThanOrEqual(5);
    // Every wait ended well within the bound.
    expect(await sample(metrics, 'hs_catchuptest_sync_catch_up_wait_seconds_bucket', '{le="0.5"}')).toBe(await sample(metrics, 'hs_catchuptest_sync_catch_up_wait_seconds_count'));

    // The partition moves on: a later receipt of the room is applied and seen.
    await bus.publish(receiptTopic, [receipt('$later')]);
    await service.sync(base);
    expect(await timeouts()).toBe(0);
  });
});

describe('CatchUp', () => {
  const caughtUpHeads = (): SyncToken => emptySyncToken();
  const noEnds = (): Array<readonly bigint[]> => SYNC_STREAMS.map(([, topic]) => Array.from({ length: topic.partitions }, () => 0n));

  it('counts a sync the read model could not catch up with in time (cause lag), and answers', async () => {
    const metrics = new Metrics('catchuplag');
    let clock = 0;
    const ends = noEnds();
    ends[0] = ends[0]!.map((end, partition) => (partition === 0 ? 5n : end));
    const catchUp = new CatchUp(
      { endOffsets: async (topic) => ends[SYNC_STREAMS.findIndex(([, t]) => t === topic)]! },
      {
        heads: async () => {
          clock += MAX_CATCH_UP_MS / 4;
          return caughtUpHeads();
        },
      },
      createSyncMetrics(metrics),
      () => clock,
    );
    await catchUp.wait();
    expect(await sample(metrics, 'hs_catchuplag_sync_catch_up_timeouts_total', '{cause="lag"}')).toBe(1);
    expect(await sample(metrics, 'hs_catchuplag_sync_catch_up_wait_seconds_sum')).toBe(1);
  });

  it('does not fail a sync when the bus cannot tell its end offsets (cause bus)', async () => {
    const metrics = new Metrics('catchupbus');
    const catchUp = new CatchUp({ endOffsets: () => Promise.reject(new Error('broker gone')) }, { heads: async () => caughtUpHeads() }, createSyncMetrics(metrics));
    await expect(catchUp.wait()).resolves.toBeUndefined();
    expect(await sample(metrics, 'hs_catchupbus_sync_catch_up_timeouts_total', '{cause="bus"}')).toBe(1);
  });
});
