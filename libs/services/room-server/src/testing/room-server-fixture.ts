import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { ProtoEvent } from '@axon/contracts-kafka';
import type { RoomId } from '@axon/matrix-identifiers';
import { getRoomVersionRules, type RoomVersionRules } from '@axon/matrix-room-versions';
import { createNativeEd25519Backend, generateSigningKey, type Ed25519Backend } from '@axon/matrix-signing';
import { Database } from '@axon/platform-database';
import type { Signer } from '../events/event-builder';
import { RemoteEventIngest } from '../input/remote-event-ingest';
import { remoteEventStorage } from '../input/remote-event-storage';
import { RoomWriter } from '../input/room-writer';
import { roomStorageForWriter } from '../input/writer-storage';
import { ROOM_SERVER_MIGRATIONS } from '../storage/migrations';
import { RoomStorage } from '../storage/room-storage';

/**
 * A room server's storage on an in-memory PGlite database and its writer (taking received
 * PDUs too), signing as `hs.test`; `remote` signs as `remote.test`, the other server of
 * federation tests. The clock ticks a millisecond per event built.
 */
export interface RoomServerFixture {
  readonly database: Database;
  readonly storage: RoomStorage;
  readonly writer: RoomWriter;
  readonly local: Signer;
  readonly remote: Signer;
  now(): number;
  /** A public room of `creator` (a user of hs.test) in `version`, with power levels and join rules. */
  createRoom(version: string, creator: string): Promise<RoomId>;
  close(): Promise<void>;
}

export function rulesOf(version: string): RoomVersionRules {
  const rules = getRoomVersionRules(version);
  if (!rules.ok) throw rules.error;
  return rules.value;
}

function signer(backend: Ed25519Backend, serverName: string, version: string): Signer {
  const key = generateSigningKey(backend, version);
  if (!key.ok) throw new Error(key.error);
  return { serverName, key: key.value, backend };
}

export async function openRoomServerFixture(): Promise<RoomServerFixture> {
  const database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-')), inMemory: true });
  const storage = new RoomStorage(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
  const backend = await createNativeEd25519Backend();
  if (backend === undefined) throw new Error('no Ed25519');
  const local = signer(backend, 'hs.test', 'local');
  const remote = signer(backend, 'remote.test', 'remote');
  let clock = 1_700_000_000_000;
  const now = (): number => clock++;
  const writer = new RoomWriter(roomStorageForWriter(storage), local, { remote: new RemoteEventIngest(remoteEventStorage(storage), { backend, serverName: 'hs.test' }), now });
  let counter = 0;
  return {
    database,
    storage,
    writer,
    local,
    remote,
    now,
    async createRoom(version, creator) {
      const rules = rulesOf(version);
      const v12 = rules.authorization.explicitlyPrivilegeRoomCreators;
      const events: ProtoEvent[] = [
        { type: 'm.room.create', state_key: '', sender: creator, content: rules.authorization.useRoomCreateSender ? { room_version: version } : { creator, room_version: version } },
        { type: 'm.room.member', state_key: creator, sender: creator, content: { membership: 'join' } },
        { type: 'm.room.power_levels', state_key: '', sender: creator, content: { users: v12 ? {} : { [creator]: 100 }, users_default: 0, events_default: 0, state_default: 50 } },
        { type: 'm.room.join_rules', state_key: '', sender: creator, content: { join_rule: 'public' } },
      ];
      const outcome = await writer.handle({ kind: 'create_room', request_id: `fixture-create-${++counter}`, room_version: version, events });
      if (!outcome.ok) throw outcome.error;
      return outcome.roomId;
    },
    close: () => database.close(),
  };
}
