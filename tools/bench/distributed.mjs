// Scaling of the distributed deployment on this machine, in one run: message sends with
// one and with two room-server replicas, then /sync requests with one and with two sync
// replicas. Run `npm run bench:distributed` (needs deploy/local/up.sh's Postgres, Redis
// and Kafka; it runs up.sh itself when they are not reachable, and down.sh at the end then).
//
// Each configuration is a fresh distributed deployment (startDistributed from
// libs/testing: every service its own process, nginx in front; its own database, Kafka
// topic prefix and Redis prefix), started, measured, stopped, one after another.
//
// Sends: BENCH_DIST_ROOMS rooms (default 16, spread over the 16 partitions of
// hs.room.input), BENCH_DIST_SENDERS users sending back to back (default 32, two per room:
// PUT /rooms/{id}/send/m.room.message/{txn}), BENCH_DIST_SECONDS measured seconds after a
// warm-up. Sync: BENCH_DIST_SYNCERS users (default 64), each in one of the rooms, looping
// incremental /sync?timeout=0 from its own next_batch (a request answers at once: this
// measures how many syncs per second the sync tier serves, not long-poll capacity), while
// one sender adds 20 messages per second to the rooms so the read model keeps moving.
//
// Columns: msg/s or req/s = successful requests per second of wall clock; p50/p99 = latency
// in ms as the client sees it through nginx; cpu = user+sys CPU seconds per second of the
// service processes named (summed over replicas), from /proc.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeClient, register } from './lib/http.mjs';
import { useLocalInfraEnv } from './lib/infra.mjs';
import { PgCluster } from './lib/postgres.mjs';
import { cpuMsOf } from './lib/process.mjs';
import { percentile } from './lib/report.mjs';
import { BenchRun, machineLine, ROOT } from './lib/run.mjs';

const ROOMS = Number(process.env.BENCH_DIST_ROOMS ?? 16);
const SENDERS = Number(process.env.BENCH_DIST_SENDERS ?? 32);
const SYNCERS = Number(process.env.BENCH_DIST_SYNCERS ?? 64);
const SECONDS = Number(process.env.BENCH_DIST_SECONDS ?? 20);
const WARMUP_S = Number(process.env.BENCH_DIST_WARMUP ?? 5);

const testing = await import(join(ROOT, 'dist/libs/testing/src/distributed.js'));
const { startDistributed, distributedInfra } = testing.default ?? testing;
const run = new BenchRun('distributed');

/** A client of the deployment's front (nginx); `api` answers { status, body } like the JSON client's call. */
function frontClient(deployment) {
  const client = makeClient(deployment.baseUrl, { connections: 256, keepAliveTimeout: 30_000 });
  const api = async (method, path, token, body) => {
    const r = await client.call(method, path, { token, body });
    return { status: r.status, body: r.json };
  };
  return { client, api };
}

const pct = (values, p) => percentile(Float64Array.from(values).sort(), p);

/** Runs `worker(i, record)` loops for warm-up + measured seconds; returns the measured latencies. */
async function drive(count, worker) {
  let measuring = false;
  let stop = false;
  const latencies = [];
  let errors = 0;
  const record = (ms, ok) => {
    if (!measuring) return;
    if (ok) latencies.push(ms);
    else errors++;
  };
  const loops = Array.from({ length: count }, (_, i) =>
    (async () => {
      while (!stop) await worker(i, record);
    })(),
  );
  await sleep(WARMUP_S * 1000);
  measuring = true;
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(loops);
  return { latencies, errors, elapsed };
}

async function setup({ client, api }, users) {
  const owner = await register(client, 'owner');
  const rooms = [];
  for (let r = 0; r < ROOMS; r++) {
    const res = await api('POST', '/_matrix/client/v3/createRoom', owner.token, { preset: 'public_chat' });
    rooms.push(res.body.room_id);
  }
  const sessions = [];
  for (let u = 0; u < users; u++) {
    const s = await register(client, `u${u}`);
    const roomId = rooms[u % ROOMS];
    const joined = await api('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, s.token, {});
    if (joined.status !== 200) throw new Error(`join: ${joined.status}`);
    sessions.push({ ...s, roomId });
  }
  return { owner, rooms, sessions };
}

const ENV = { AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false', AXON_PRESENCE_ENABLED: 'false', AXON_LOG_LEVEL: 'warn' };

async function benchSends(roomServers) {
  const deployment = await startDistributed({ replicas: { 'room-server': roomServers, sync: 1 }, env: ENV });
  const front = frontClient(deployment);
  try {
    const { sessions } = await setup(front, SENDERS);
    let txn = 0;
    const pids = deployment.replicasOf('room-server').map((p) => p.child.pid);
    const others = deployment.processes.filter((p) => p.service === 'client-api').map((p) => p.child.pid);
    let cpu0;
    let cpuOthers0;
    setTimeout(() => {
      cpu0 = cpuMsOf(pids);
      cpuOthers0 = cpuMsOf(others);
    }, WARMUP_S * 1000);
    const result = await drive(SENDERS, async (i, record) => {
      const s = sessions[i];
      const t0 = performance.now();
      const res = await front.api('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(s.roomId)}/send/m.room.message/b${++txn}`, s.token, { msgtype: 'm.text', body: `m${txn}` });
      record(performance.now() - t0, res.status === 200);
    });
    const cpu = (cpuMsOf(pids) - cpu0) / 1000 / result.elapsed;
    const cpuOthers = (cpuMsOf(others) - cpuOthers0) / 1000 / result.elapsed;
    return { ...result, cpu, cpuOthers };
  } finally {
    await front.client.close();
    await deployment.stop();
  }
}

async function benchSyncs(syncs) {
  const deployment = await startDistributed({ replicas: { 'room-server': 1, sync: syncs }, env: ENV });
  const front = frontClient(deployment);
  try {
    const { owner, rooms, sessions } = await setup(front, SYNCERS);
    for (const s of sessions) {
      const first = await front.api('GET', '/_matrix/client/v3/sync?timeout=0', s.token);
      s.since = first.body.next_batch;
    }
    // Background writes: 20 messages per second over the rooms.
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) {
        await front.api('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms[n % ROOMS])}/send/m.room.message/w${n}`, owner.token, { msgtype: 'm.text', body: `w${n}` });
        n++;
        await sleep(50);
      }
    })();
    const pids = deployment.replicasOf('sync').map((p) => p.child.pid);
    let cpu0;
    setTimeout(() => (cpu0 = cpuMsOf(pids)), WARMUP_S * 1000);
    const result = await drive(SYNCERS, async (i, record) => {
      const s = sessions[i];
      const t0 = performance.now();
      const res = await front.api('GET', `/_matrix/client/v3/sync?timeout=0&since=${encodeURIComponent(s.since)}`, s.token);
      if (res.status === 200) s.since = res.body.next_batch;
      record(performance.now() - t0, res.status === 200);
    });
    writing = false;
    await writer;
    const cpu = (cpuMsOf(pids) - cpu0) / 1000 / result.elapsed;
    return { ...result, cpu };
  } finally {
    await front.client.close();
    await deployment.stop();
  }
}

// Reached (or started with up.sh) before env.sh's settings are taken: with AXON_DATABASE_URL
// set by the caller, an unreachable cluster is an error rather than a reason to start one.
const cluster = new PgCluster(run);
if (!(await cluster.ensure())) throw new Error('no PostgreSQL for the distributed deployment (deploy/local/up.sh)');
useLocalInfraEnv();
distributedInfra();
const rows = [];
try {
  for (const replicas of [1, 2]) {
    run.log(`sends with ${replicas} room-server replica(s)…`);
    const r = await benchSends(replicas);
    rows.push({ what: `send, ${replicas} room-server`, rate: r.latencies.length / r.elapsed, p50: pct(r.latencies, 50), p99: pct(r.latencies, 99), errors: r.errors, cpu: `room-server ${r.cpu.toFixed(2)}, client-api ${r.cpuOthers.toFixed(2)}` });
  }
  for (const replicas of [1, 2]) {
    run.log(`syncs with ${replicas} sync replica(s)…`);
    const r = await benchSyncs(replicas);
    rows.push({ what: `sync, ${replicas} sync`, rate: r.latencies.length / r.elapsed, p50: pct(r.latencies, 50), p99: pct(r.latencies, 99), errors: r.errors, cpu: `sync ${r.cpu.toFixed(2)}` });
  }
} finally {
  await run.cleanup();
}

console.log(`\nDistributed deployment scaling (${machineLine()}; ${ROOMS} rooms, ${SENDERS} senders / ${SYNCERS} syncing users, ${SECONDS} s measured after ${WARMUP_S} s warm-up, through nginx)\n`);
console.log('| configuration | requests/s | p50 ms | p99 ms | errors | CPU s/s of the scaled service |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.what} | ${r.rate.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} | ${r.cpu} |`);
run.printFooter({ infraStartedByUs: cluster.startedByUs });
