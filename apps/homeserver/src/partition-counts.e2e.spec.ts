import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpecClient, startHomeserver, type HomeserverProcess } from '@axon/testing';

type Session = { access_token: string; user_id: string };
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

  it('are the counts its topics are created with and its sync tokens carry, and a restart with another count is refused', async () => {
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

    await expect(startHomeserver({ ...env, AXON_CONFIG: configWith({ 'hs.room.output.v1': 8, 'hs.edu.receipt.v1': 3 }) }, { dataDir })).rejects.toThrow(
      /hs\.room\.output\.v1 has 5 partitions but the configured count is 8; a topic keeps the count it was created with/,
    );
    hs = await startHomeserver({ ...env, AXON_CONFIG: configWith({ 'hs.room.output.v1': 5, 'hs.edu.receipt.v1': 3 }) }, { dataDir });
    const again = await new SpecClient(hs.baseUrl).call<Json>('GET', '/_matrix/client/v3/sync', {}, { token: alice.access_token, query: { since: token } });
    expect(positions(again['next_batch'] as string)).toEqual([5, 8, 3, 4, 8, 8, 8, 5]);
  });

  it('refuses an unknown topic at start', async () => {
    await expect(startHomeserver({ AXON_SERVER_NAME: SERVER, AXON_CONFIG: configWith({ 'hs.room.nope.v1': 4 }) })).rejects.toThrow(/kafka\.partitions names "hs\.room\.nope\.v1", which is not a topic/);
  });
});
