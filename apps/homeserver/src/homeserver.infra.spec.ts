import { specErrors, startHomeserver, type HomeserverProcess } from '@axon/testing';

const database = process.env['AXON_DATABASE_URL'];
const brokers = process.env['AXON_KAFKA_BROKERS'];
const redis = process.env['AXON_REDIS_URL'];
if (!database || !brokers || !redis) {
  throw new Error('AXON_DATABASE_URL, AXON_KAFKA_BROKERS and AXON_REDIS_URL must be set: `npm run infra:up` then `source deploy/local/env.sh`');
}

/** The same homeserver process, configured by environment alone onto Postgres, Kafka and Redis. */
describe('homeserver on real Postgres, Kafka and Redis', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_DATABASE_URL: database, AXON_KAFKA_BROKERS: brokers, AXON_REDIS_URL: redis });
  });
  afterAll(async () => {
    await hs.stop();
  });

  it('uses the real transports and is ready only when each answers', async () => {
    expect(hs.logs.filter((l) => typeof l['backend'] === 'string').map((l) => `${l['msg']}: ${l['backend']}`)).toEqual(
      expect.arrayContaining(['database open: postgres', 'bus ready: kafka', 'cache ready: redis']),
    );
    const ready = await fetch(`${hs.baseUrl}/ready`);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', cache: 'ok', bus: 'ok' } });
  });

  it('serves the discovery endpoints', async () => {
    const body = await (await fetch(`${hs.baseUrl}/_matrix/client/versions`)).json();
    expect(specErrors('client-server', 'GET /_matrix/client/versions 200', body)).toEqual([]);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    expect(await hs.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(hs.logs.map((l) => l['msg'])).toContain('shutdown complete');
  });
});
