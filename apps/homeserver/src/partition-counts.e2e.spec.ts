import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionForKey } from '@axon/platform-bus';
import { SpecClient, startHomeserver, type HomeserverProcess } from '@axon/testing';

type Session = { access_token: string; user_id: string; device_id: string };
type Json = Record<string, unknown>;

const SERVER = 'partitions.test';

function configWith(partitions: Record<string, number>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'axon-partitions-')), 'axon.json');
  writeFileSync(file, JSON.stringify({ kafka: { partitions } }));
  return file;
}

/** The sync token's positions per stream: `s3_<rooms>_<account data>_<receipts>_…`, each `.`-separated per partition. */
const positions = (token: string): number[] => token.split('_').slice(1).map((list) => list.split('.').length);

describe('a deployment’s partition counts (kafka.partitions)', () => {
  let hs: HomeserverProcess | undefined;
  afterEach(async () => {
    await hs?.stop();
    hs = undefined;
  });

  it('are the counts its topics are created with and its sync tokens carry, and a restart with a lower count is refused', async () => {
    const env = { AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' };
    hs = await startHomeserver({ ...env, AXON_CONFIG: configWith({ 'hs.room.output.v1': 5, 'hs.edu.receipt.v1': 3 }) });
    const dataDir = hs.dataDir;
    const client = new SpecClient(hs.baseUrl);
    const first = await client.call<Json>('POST', '/_matrix/client/v3/register', {}, { body: { username: 'alice', password: 'correct horse' }, status: 401 });
    const alice = await client.call<Session>('POST', '/_matrix/client/v3/register', {}, { body: { username: 'alice', password: 'correct horse', auth: { type: 'm.login.dummy', session: first['session'] } } });
    const { room_id: roomId } = await client.call<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', {}, { token: alice.access_token, body: {} });
    const send = (txnId: string, body: string) =>
      client.call('PUT', '/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}', { roomId, eventType: 'm.room.message', txnId }, { token: alice.access_token, body: { msgtype: 'm.text', body } });
    await send('t1', 'one');
    const initial = await client.call<Json>('GET', '/_matrix/client/v3/sync', {}, { token: alice.access_token });
    const token = initial['next_batch'] as string;
    // rooms, account data, receipts, typing, presence, to-device, device lists, room orderings.
    expect(positions(token)).toEqual([5, 8, 3, 4, 8, 8, 8, 5]);
    await send('t2', 'two');
    const next = await client.call<Json>('GET', '/_matrix/client/v3/sync', {}, { token: alice.access_token, query: { since: token, timeout: '10000' } });
    const timeline = ((((next['rooms'] as Json)['join'] as Json)[roomId] as Json)['timeline'] as { events: Json[] }).events;
    expect(timeline.map((event) => (event['content'] as { body?: string }).body)).toEqual(['two']);
    await hs.stop();
    hs = undefined;

    await expect(startHomeserver({ ...env, AXON_CONFIG: configWith({ 'hs.room.output.v1': 4, 'hs.edu.receipt.v1': 3 }) }, { dataDir })).rejects.toThrow(
      /hs\.room\.output\.v1 has 5 partitions but the configured count is 4: a count cannot go down/,
    );
    hs = await startHomeserver({ ...env, AXON_CONFIG: configWith({ 'hs.room.output.v1': 5, 'hs.edu.receipt.v1': 3 }) }, { dataDir });
    const again = await new SpecClient(hs.baseUrl).call<Json>('GET', '/_matrix/client/v3/sync', {}, { token: alice.access_token, query: { since: token } });
    expect(positions(again['next_batch'] as string)).toEqual([5, 8, 3, 4, 8, 8, 8, 5]);
  });

  it('raised on a restart: every event, to-device message and membership change still delivered once and in order, from tokens written before and after', async () => {
    const env = { AXON_SERVER_NAME: SERVER, AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false' };
    const counts = (n: number) => configWith({ 'hs.room.input.v1': n, 'hs.room.output.v1': n, 'hs.todevice.v1': n });
    hs = await startHomeserver({ ...env, AXON_CONFIG: counts(2) });
    const dataDir = hs.dataDir;
    let client = new SpecClient(hs.baseUrl);
    const register = async (username: string): Promise<Session> => {
      const first = await client.call<Json>('POST', '/_matrix/client/v3/register', {}, { body: { username, password: 'correct horse' }, status: 401 });
      return client.call<Session>('POST', '/_matrix/client/v3/register', {}, { body: { username, password: 'correct horse', auth: { type: 'm.login.dummy', session: first['session'] } } });
    };
    const alice = await register('alice');
    const bob = await register('bob');
    const send = (roomId: string, body: string) =>
      client.call('PUT', '/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}', { roomId, eventType: 'm.room.message', txnId: `${roomId}-${body}` }, { token: alice.access_token, body: { msgtype: 'm.text', body } });
    const toBob = (n: number) =>
      client.call('PUT', '/_matrix/client/v3/sendToDevice/{eventType}/{txnId}', { eventType: 'm.test', txnId: `d${n}` }, { token: alice.access_token, body: { messages: { [bob.user_id]: { [bob.device_id]: { n } } } } });
    const sync = (since?: string) => client.call<Json>('GET', '/_matrix/client/v3/sync', {}, { token: bob.access_token, query: { ...(since ? { since } : {}), timeout: '0' } });
    const bodies = (response: Json, roomId: string, section = 'join') =>
      ((((response['rooms'] as Json)[section] as Json)[roomId] as Json | undefined)?.['timeline'] as { events: Json[] } | undefined)?.events
        .filter((event) => event['type'] === 'm.room.message')
        .map((event) => (event['content'] as { body: string }).body) ?? [];
    const toDevice = (response: Json) => ((response['to_device'] as { events: Json[] } | undefined)?.events ?? []).map((event) => (event['content'] as { n: number }).n);

    // Rooms until one moves partition between 2 and 5 partitions (most do), and one that stays.
    const rooms: string[] = [];
    while (!rooms.some((r) => partitionForKey(r, 2) !== partitionForKey(r, 5)) || rooms.length < 3) {
      const { room_id: roomId } = await client.call<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', {}, { token: alice.access_token, body: { preset: 'public_chat' } });
      await client.call('POST', '/_matrix/client/v3/join/{roomIdOrAlias}', { roomIdOrAlias: roomId }, { token: bob.access_token, body: {} });
      rooms.push(roomId);
    }
    const moved = rooms.find((r) => partitionForKey(r, 2) !== partitionForKey(r, 5))!;
    for (const roomId of rooms) for (const body of ['m1', 'm2', 'm3']) await send(roomId, body);
    const before = await sync();
    for (const roomId of rooms) expect(bodies(before, roomId)).toEqual(['m1', 'm2', 'm3']);
    const t1 = before['next_batch'] as string;
    await toBob(1);
    await toBob(2);
    // The read model has them (a sync that waits for them), but bob has not synced past them.
    expect(toDevice(await sync(t1))).toEqual([1, 2]);
    await hs.stop();
    hs = undefined;

    hs = await startHomeserver({ ...env, AXON_CONFIG: counts(5) }, { dataDir });
    client = new SpecClient(hs.baseUrl);
    for (const roomId of rooms) for (const body of ['m4', 'm5']) await send(roomId, body);
    await toBob(3);
    await toBob(4);
    const after = await sync(t1);
    for (const roomId of rooms) expect(bodies(after, roomId)).toEqual(['m4', 'm5']);
    expect(toDevice(after)).toEqual([1, 2, 3, 4]);
    const t2 = after['next_batch'] as string;
    expect(positions(t2)[0]).toBe(5);
    expect(toDevice(await sync(t2))).toEqual([]);

    // A room's whole history, across its two partitions, in its order.
    const initial = await client.call<Json>('GET', '/_matrix/client/v3/sync', {}, { token: bob.access_token, query: { filter: JSON.stringify({ room: { timeline: { limit: 50 } } }) } });
    for (const roomId of rooms) expect(bodies(initial, roomId)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    // /messages from a token written before the raise and from one after.
    const back = async (from: string) =>
      (await client.call<{ chunk: Json[] }>('GET', '/_matrix/client/v3/rooms/{roomId}/messages', { roomId: moved }, { token: bob.access_token, query: { from, dir: 'b', limit: '50' } })).chunk
        .filter((event) => event['type'] === 'm.room.message')
        .map((event) => (event['content'] as { body: string }).body);
    expect(await back(t1)).toEqual(['m3', 'm2', 'm1']);
    expect(await back(t2)).toEqual(['m5', 'm4', 'm3', 'm2', 'm1']);

    // Leaving a moved room: its section runs up to the leave, across both partitions.
    await send(moved, 'm6');
    await client.call('POST', '/_matrix/client/v3/rooms/{roomId}/leave', { roomId: moved }, { token: bob.access_token, body: {} });
    await send(moved, 'm7');
    const left = await sync(t1);
    expect(bodies(left, moved, 'leave')).toEqual(['m4', 'm5', 'm6']);
  });

  it('refuses an unknown topic at start', async () => {
    await expect(startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_CONFIG: configWith({ 'hs.room.nope.v1': 4 }) })).rejects.toThrow(/kafka\.partitions names "hs\.room\.nope\.v1", which is not a topic/);
  });
});
