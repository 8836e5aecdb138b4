import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { startDistributed, type DistributedDeployment } from '@axon/testing';
import { Senders, SyncWatcher, call, expectAckedStoredAndDelivered, register, type Session } from './traffic';

const ROOT = resolve(__dirname, '../../..');
const ROOMS = 8;
// Asynchronously: the clients keep sending and syncing while the infrastructure restarts.
const run = promisify(execFile);

/**
 * Faults against the distributed deployment while a client sends to 8 rooms (one
 * sequential sender per room, retrying with the same transaction ID) and another client
 * long-polls `/sync` through nginx. After each fault every acknowledged message must be
 * stored exactly once, each room's history must be one linear chain, and the syncing
 * client must have received every acknowledged message exactly once, in order, with no
 * gap. Each test prints its recovery time: from the fault until a message sent after it
 * reached the syncing client, in the slowest room.
 */
describe('distributed deployment under faults', () => {
  let deployment: DistributedDeployment;
  let alice: Session;
  let bob: Session;
  const roomIds: string[] = [];

  beforeAll(async () => {
    deployment = await startDistributed({ env: { AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false', AXON_PRESENCE_ENABLED: 'false' } });
    alice = await register(deployment.baseUrl, 'alice');
    bob = await register(deployment.baseUrl, 'bob');
    for (let i = 0; i < ROOMS; i++) {
      const created = await call(deployment.baseUrl, 'POST', '/_matrix/client/v3/createRoom', alice.token, { preset: 'public_chat', name: `room ${i}` });
      expect(created.status).toBe(200);
      const roomId = created.body['room_id'] as string;
      expect((await call(deployment.baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, bob.token, {})).status).toBe(200);
      roomIds.push(roomId);
    }
  }, 120_000);

  afterAll(async () => {
    await deployment?.destroy();
  }, 60_000);

  /**
   * Runs traffic, injects `fault` after `warmupMs`, keeps sending until every room has
   * acknowledged a message sent after the fault plus `tailMs`, then checks everything.
   */
  async function underFault(label: string, fault: () => Promise<{ faultAt: number; backAt?: number }>): Promise<void> {
    const watcher = await new SyncWatcher(deployment.baseUrl, bob).start();
    const senders = new Senders(deployment.baseUrl, alice, roomIds).start();
    await new Promise((r) => setTimeout(r, 2000));
    const { faultAt, backAt } = await fault();
    // Every room must acknowledge something sent after the fault, then a little more.
    const deadline = Date.now() + 180_000;
    while (!roomIds.every((roomId) => senders.acked.some((m) => m.roomId === roomId && m.startedAt > faultAt))) {
      if (Date.now() > deadline) throw new Error(`${label}: some room never accepted a send after the fault`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500));
    await senders.stop();
    try {
      await watcher.waitFor(senders.acked, 120_000);
    } catch (err) {
      // The polls, for the post-mortem: which token passed the missing events.
      const file = `${deployment.dataDir}/polls-${label.replace(/\W+/g, '-')}.json`;
      writeFileSync(file, JSON.stringify({ acked: senders.acked, polls: watcher.polls }, null, 1));
      throw new Error(`${(err as Error).message} (polls in ${file}; database ${deployment.databaseUrl})`);
    }
    await watcher.stop();

    // Recovery: per room, from the fault until the first message sent after it reached the
    // syncing client; stall: the longest wait between two deliveries in a room.
    const perRoom = roomIds.map((roomId) => {
      const first = senders.acked.find((m) => m.roomId === roomId && m.startedAt > faultAt)!;
      return watcher.seenAt(roomId, first.eventId)! - faultAt;
    });
    const stall = Math.max(
      ...roomIds.map((roomId) => {
        const times = (watcher.seen.get(roomId) ?? []).map((e) => e.seenAt);
        return Math.max(0, ...times.slice(1).map((t, i) => t - times[i]!));
      }),
    );
    const afterBack =
      backAt === undefined
        ? ''
        : `, every room delivering again ${Math.max(...roomIds.map((roomId) => ((watcher.seen.get(roomId) ?? []).find((e) => e.seenAt >= backAt)?.seenAt ?? NaN) - backAt))} ms after it was back (outage ${backAt - faultAt} ms)`;
    const retried = senders.acked.filter((m) => m.attempts > 1).length;
    process.stdout.write(
      `[faults] ${label}: recovery ${Math.max(...perRoom)} ms (slowest room; per room ${[...perRoom].sort((a, b) => a - b).join('/')} ms), longest stall ${stall} ms${afterBack}; ` +
        `${senders.acked.length} messages acknowledged, ${retried} needed a retry, ${watcher.failures.length} failed polls\n`,
    );

    await expectAckedStoredAndDelivered(deployment.databaseUrl, roomIds, senders.acked, [watcher]);
    expect(watcher.gaps).toEqual([]);
  }

  it('kill -9 of one room-server replica during a burst: the other takes over its rooms', async () => {
    const [victim] = deployment.replicasOf('room-server');
    await underFault('kill -9 room-server-1', async () => {
      const faultAt = Date.now();
      await victim!.stop('SIGKILL');
      return { faultAt };
    });
    await deployment.restart(victim!);
  }, 300_000);

  it('kill -9 of one sync replica: its clients continue on the other from the same token', async () => {
    const [victim] = deployment.replicasOf('sync');
    await underFault('kill -9 sync-1', async () => {
      const faultAt = Date.now();
      await victim!.stop('SIGKILL');
      return { faultAt };
    });
    await deployment.restart(victim!);
  }, 300_000);

  it('a Kafka broker restart', async () => {
    await underFault('Kafka broker restart', async () => {
      const faultAt = Date.now();
      await run('bash', [`${ROOT}/deploy/local/down.sh`, '--only', 'kafka']);
      await run('bash', [`${ROOT}/deploy/local/up.sh`]);
      return { faultAt, backAt: Date.now() };
    });
  }, 400_000);

  it('a Postgres restart', async () => {
    await underFault('Postgres restart', async () => {
      const faultAt = Date.now();
      await run('bash', [`${ROOT}/deploy/local/down.sh`, '--only', 'postgres']);
      await run('bash', [`${ROOT}/deploy/local/up.sh`]);
      return { faultAt, backAt: Date.now() };
    });
  }, 400_000);
});
