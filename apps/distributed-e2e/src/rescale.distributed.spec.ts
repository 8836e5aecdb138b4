import type { ServiceName } from '@axon/contracts-routes';
import { startDistributed, type DistributedDeployment, type ServiceProcess } from '@axon/testing';
import { Readers, Senders, SyncWatcher, call, connectionRetries, expectAckedStoredAndDelivered, register, type Session } from './traffic';

const ROOMS = 5;
const RECEIVERS = 3;
/** Traffic after each step before the next: long enough for a rebalance to finish and be seen. */
const SETTLE_MS = 8_000;
/** The longest a client may wait between two deliveries of a room across a step (issue 18). */
const GAP_LIMIT_MS = { add: 2_000, graceful: 2_000, crash: 5_000 } as const;
/** An added replica must serve within this of its spawn. */
const SERVING_WITHIN_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The calls a replica has answered so far, from its `/metrics`: gRPC calls (health and diagnostics aside) and HTTP requests (probes and scrapes aside). */
async function served(replica: ServiceProcess): Promise<{ grpc: number; http: number }> {
  const text = await (await fetch(`http://127.0.0.1:${replica.httpPort}/metrics`)).text();
  let grpc = 0;
  let http = 0;
  for (const line of text.split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (/^hs_\w+_rpc_server_calls_total\{/.test(line) && !/method="\/(grpc\.health|hs\.diagnostics)/.test(line)) grpc += value;
    if (/^hs_\w+_http_request_duration_seconds_count\{/.test(line) && !/route="\/(ready|health|metrics)/.test(line)) http += value;
  }
  return { grpc, http };
}

/**
 * Rescaling the distributed deployment the way an operator does, under a steady load: a
 * sender per room sending one message after another (retrying only what fails, with the
 * same transaction ID, and every retry counted as a failed send), receivers long-polling
 * `/sync` through nginx, and the same receivers reading their rooms and members (gRPC
 * queries to the room server) between polls. Replicas are added (`addReplica`: started, then
 * registered for discovery), removed gracefully (SIGTERM: they leave discovery first,
 * then drain) and crashed (kill -9: gone first, out of discovery after). Each removal
 * leaves, in the end, only replicas that were added during the test. Printed per step:
 * the longest wait between two deliveries of a room at any receiver, and for additions
 * how soon the new replica served calls.
 */
describe('rescaling under load', () => {
  let deployment: DistributedDeployment;
  let sender: Session;
  const receivers: Session[] = [];
  const roomIds: string[] = [];

  beforeAll(async () => {
    deployment = await startDistributed({ env: { AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false', AXON_PRESENCE_ENABLED: 'false' } });
    sender = await register(deployment.baseUrl, 'sender');
    for (let i = 0; i < RECEIVERS; i++) receivers.push(await register(deployment.baseUrl, `receiver${i}`));
    for (let i = 0; i < ROOMS; i++) {
      const created = await call(deployment.baseUrl, 'POST', '/_matrix/client/v3/createRoom', sender.token, { preset: 'public_chat', name: `room ${i}` });
      expect(created.status).toBe(200);
      const roomId = created.body['room_id'] as string;
      for (const receiver of receivers) expect((await call(deployment.baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, receiver.token, {})).status).toBe(200);
      roomIds.push(roomId);
    }
  }, 120_000);

  afterAll(async () => {
    await deployment?.destroy();
  }, 60_000);

  it('sync 2→3→1 and room-server 2→3→1 (one SIGTERM, one kill -9 each), client-api 1→2→1: no failed request, nothing lost, duplicated or reordered', async () => {
    const watchers = await Promise.all(receivers.map((r) => new SyncWatcher(deployment.baseUrl, r).start()));
    const senders = new Senders(deployment.baseUrl, sender, roomIds).start();
    const readers = new Readers(deployment.baseUrl, receivers, roomIds).start();
    const steps: { label: string; kind: keyof typeof GAP_LIMIT_MS; at: number; readyMs?: number; servingMs?: number }[] = [];

    const add = async (service: ServiceName, label: string): Promise<ServiceProcess> => {
      const at = Date.now();
      const before = { grpc: 0, http: 0 };
      const replica = await deployment.addReplica(service);
      const readyMs = Date.now() - at;
      // What it must serve: gRPC if it has a gRPC service (room-server, client-api), HTTP if it has routes (client-api, sync).
      const wantsGrpc = replica.grpcPort !== undefined;
      const wantsHttp = service !== 'room-server';
      let servingMs: number | undefined;
      while (Date.now() - at < SERVING_WITHIN_MS + 5_000) {
        const now = await served(replica);
        if ((!wantsGrpc || now.grpc > before.grpc) && (!wantsHttp || now.http > before.http)) {
          servingMs = Date.now() - at;
          break;
        }
        await sleep(100);
      }
      steps.push({ label, kind: 'add', at, readyMs, ...(servingMs === undefined ? {} : { servingMs }) });
      await sleep(SETTLE_MS);
      return replica;
    };
    const remove = async (replica: ServiceProcess, signal: 'SIGTERM' | 'SIGKILL', label: string): Promise<void> => {
      const at = Date.now();
      await deployment.removeReplica(replica, signal);
      steps.push({ label, kind: signal === 'SIGTERM' ? 'graceful' : 'crash', at });
      await sleep(SETTLE_MS);
    };

    const runSteps = async (): Promise<void> => {
      await sleep(3_000);
      const [sync1, sync2] = deployment.replicasOf('sync');
      await add('sync', 'sync 2→3 (sync-3 added)');
      await remove(sync1!, 'SIGTERM', 'sync 3→2 (sync-1 SIGTERM)');
      await remove(sync2!, 'SIGKILL', 'sync 2→1 (sync-2 kill -9)');
      const [room1, room2] = deployment.replicasOf('room-server');
      await add('room-server', 'room-server 2→3 (room-server-3 added)');
      await remove(room1!, 'SIGTERM', 'room-server 3→2 (room-server-1 SIGTERM)');
      await remove(room2!, 'SIGKILL', 'room-server 2→1 (room-server-2 kill -9)');
      const [api1] = deployment.replicasOf('client-api');
      await add('client-api', 'client-api 1→2 (client-api-2 added)');
      await remove(api1!, 'SIGTERM', 'client-api 2→1 (client-api-1 SIGTERM)');
    };
    // A failed step stops the traffic too (a sender left running outlives the test).
    const stopTraffic = (): Promise<unknown> => Promise.all([senders.stop(), readers.stop()]);
    try {
      await runSteps();
    } catch (err) {
      await stopTraffic();
      await Promise.all(watchers.map((w) => w.stop()));
      throw err;
    }
    await stopTraffic();
    for (const watcher of watchers) await watcher.waitFor(senders.acked, 60_000);
    await Promise.all(watchers.map((w) => w.stop()));

    // Per step: the longest wait, at any receiver in any room, between two deliveries
    // around it (an interval that contains the step or ends before the next one).
    const windows = steps.map((step, i) => {
      const until = steps[i + 1]?.at ?? step.at + SETTLE_MS;
      let longest = { ms: 0, from: 0 };
      for (const watcher of watchers) {
        for (const roomId of roomIds) {
          const times = (watcher.seen.get(roomId) ?? []).map((e) => e.seenAt);
          for (let k = 1; k < times.length; k++) {
            // An interval that runs into the next step is that step's.
            if (times[k]! >= step.at && (i === steps.length - 1 || times[k]! < until) && times[k]! - times[k - 1]! > longest.ms) longest = { ms: times[k]! - times[k - 1]!, from: times[k - 1]! - step.at };
          }
        }
      }
      return longest;
    });
    const gaps = windows.map((w) => w.ms);
    const failedSends = senders.acked.filter((m) => m.attempts > 1);
    process.stdout.write(
      `[rescale] ${senders.acked.length} sends in ${ROOMS} rooms, ${failedSends.length} needed a retry; ${RECEIVERS} receivers, ${watchers.reduce((n, w) => n + w.failures.length, 0)} failed polls; ` +
        `${readers.count} reads (joined rooms and members: gRPC queries), ${readers.failures.length} failed; ` +
        `${connectionRetries.length} requests sent again after a kept-alive connection closed before any answer (nginx reloads)\n` +
        steps.map((s, i) => `[rescale] ${s.label} (${s.at - steps[0]!.at} ms after the first step): longest delivery gap ${gaps[i]} ms (from ${windows[i]!.from} ms after the step)${s.readyMs === undefined ? '' : `; ready and registered ${s.readyMs} ms after its spawn, serving after ${s.servingMs ?? 'never'} ms`}\n`).join(''),
    );

    for (const failure of senders.failures) process.stdout.write(`[rescale] failed send ${failure.txnId} ${failure.at - steps[0]!.at} ms after the first step: ${failure.answer}\n`);
    expect(failedSends).toEqual([]);
    expect(readers.failures).toEqual([]);
    for (const watcher of watchers) {
      expect(watcher.failures).toEqual([]);
      expect(watcher.gaps).toEqual([]);
    }
    await expectAckedStoredAndDelivered(deployment.databaseUrl, roomIds, senders.acked, watchers);
    expect(steps.filter((s) => s.kind === 'add').map((s) => ({ step: s.label, servingInTime: s.servingMs !== undefined && s.servingMs <= SERVING_WITHIN_MS }))).toEqual(
      steps.filter((s) => s.kind === 'add').map((s) => ({ step: s.label, servingInTime: true })),
    );
    expect(steps.map((s, i) => ({ step: s.label, gapWithinLimit: gaps[i]! <= GAP_LIMIT_MS[s.kind] }))).toEqual(steps.map((s) => ({ step: s.label, gapWithinLimit: true })));
    // The last replicas standing are the ones added during the test.
    expect(deployment.processes.filter((p) => ['sync', 'room-server', 'client-api'].includes(p.service)).map((p) => p.name).sort()).toEqual(['client-api-2', 'room-server-3', 'sync-3']);
  }, 600_000);
});
