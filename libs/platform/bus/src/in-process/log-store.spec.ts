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

  it('commits the offsets of several groups and topics in one statement, the highest where one partition comes twice', async () => {
    await store.commit('a', 'hs.test.many.v1', new Map([[0, 7n]]));
    await store.commitMany([
      { groupId: 'a', topic: 'hs.test.many.v1', offsets: new Map([[0, 4n], [1, 3n]]) },
      { groupId: 'b', topic: 'hs.test.many.v1', offsets: new Map([[0, 2n]]) },
      { groupId: 'a', topic: 'hs.test.other.v1', offsets: new Map([[0, 1n]]) },
      { groupId: 'a', topic: 'hs.test.many.v1', offsets: new Map([[1, 6n]]) },
    ]);
    // Partition 0 of group a stays at 7 (never backwards); partition 1 takes the higher of 3 and 6.
    expect(await store.committedOffsets('a', 'hs.test.many.v1')).toEqual(new Map([[0, 7n], [1, 6n]]));
    expect(await store.committedOffsets('b', 'hs.test.many.v1')).toEqual(new Map([[0, 2n]]));
    expect(await store.committedOffsets('a', 'hs.test.other.v1')).toEqual(new Map([[0, 1n]]));
    await store.commitMany([]);
  });
});
