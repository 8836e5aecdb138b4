import { Database } from '@axon/platform-database';
import { BUS_SCHEMA } from './in-process-bus';
import { LogStore } from './log-store';
import { BUS_MIGRATIONS } from './migrations';

describe('LogStore (PGlite, in memory)', () => {
  let database: Database;
  let store: LogStore;

  beforeAll(async () => {
    database = await Database.open({ dataDir: '', inMemory: true });
    store = new LogStore(await database.dataSource({ schema: BUS_SCHEMA, migrations: [...BUS_MIGRATIONS] }));
  });
  afterAll(async () => {
    await database.close();
  });

  it('never moves a committed offset backwards', async () => {
    await store.commit('g', 'hs.test.store.v1', new Map([[0, 5n], [1, 2n]]));
    // A late commit of an older low-water mark (a slow commit racing a newer one, or a member
    // that lost its partition committing after the new owner): partition 0 must stay at 5.
    await store.commit('g', 'hs.test.store.v1', new Map([[0, 3n], [1, 4n]]));
    expect(await store.committedOffsets('g', 'hs.test.store.v1')).toEqual(new Map([[0, 5n], [1, 4n]]));
    await store.commit('g', 'hs.test.store.v1', new Map([[0, 5n]]));
    expect((await store.committedOffsets('g', 'hs.test.store.v1')).get(0)).toBe(5n);
    await store.commit('g', 'hs.test.store.v1', new Map([[0, 9n]]));
    expect((await store.committedOffsets('g', 'hs.test.store.v1')).get(0)).toBe(9n);
  });
});
