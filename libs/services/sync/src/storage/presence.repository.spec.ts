import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { PresenceUpdate } from '@axon/contracts-kafka';
import type { UserId } from '@axon/matrix-identifiers';
import { Database } from '@axon/platform-database';
import { SYNC_MIGRATIONS } from './migrations';
import { SyncStorage } from './sync-repositories';

const ALICE = '@alice:hs.test' as UserId;

describe('PresenceRepository.apply (embedded Postgres)', () => {
  let database: Database;
  let storage: SyncStorage;
  let offset = 0;

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-sync-presence-')), inMemory: true });
    storage = new SyncStorage(await database.dataSource({ schema: 'sync', migrations: [...SYNC_MIGRATIONS] }));
  });

  afterAll(async () => {
    await database.close();
  });

  /** Applies an update at the next offset of partition 0; returns the users woken and the offset. */
  async function apply(update: Omit<PresenceUpdate, 'user_id'>): Promise<{ woken: UserId[]; at: number }> {
    offset++;
    return { woken: await storage.presence.apply({ user_id: ALICE, ...update }, 0, String(offset)), at: offset };
  }

  const changedBetween = (after: number, upTo: number) => storage.presence.changedFor(ALICE, [after], [upTo]);

  it('an activity refresh wakes no one and is no change for an incremental sync, but its time is kept', async () => {
    const online = await apply({ presence: 'online', last_active_ts: 1_000, currently_active: true });
    expect(online.woken).toEqual([ALICE]);

    const refresh = await apply({ presence: 'online', last_active_ts: 61_000, currently_active: true });
    expect(refresh.woken).toEqual([]);
    // A sync whose token is from before the refresh (and after the change) sees nothing new...
    expect(await changedBetween(online.at, refresh.at)).toEqual([]);
    // ...and reads the refreshed time wherever it reads the row.
    expect((await changedBetween(0, refresh.at)).map((row) => row.last_active_ts)).toEqual(['61000']);
    expect((await storage.presence.of(ALICE))?.last_active_ts).toBe('61000');
    // The presence stream's head still moves: tokens pass the refresh.
    expect((await storage.positions.heads()).presence[0]).toBe(refresh.at);

    // A redelivered older refresh does not take the time back.
    await storage.presence.apply({ user_id: ALICE, presence: 'online', last_active_ts: 30_000, currently_active: true }, 0, String(refresh.at));
    expect((await storage.presence.of(ALICE))?.last_active_ts).toBe('61000');
  });

  it('a change of presence, activity or status after a refresh wakes and is seen', async () => {
    const before = offset;
    const away = await apply({ presence: 'unavailable', last_active_ts: 62_000, currently_active: false });
    expect(away.woken).toEqual([ALICE]);
    expect((await changedBetween(before, away.at)).map((row) => row.presence)).toEqual(['unavailable']);

    const status = await apply({ presence: 'unavailable', status_msg: 'lunch', last_active_ts: 63_000, currently_active: false });
    expect(status.woken).toEqual([ALICE]);
    expect((await changedBetween(away.at, status.at)).map((row) => row.status_msg)).toEqual(['lunch']);
  });
});
