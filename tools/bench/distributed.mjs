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
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Agent, request } = require('undici');
const pg = require('pg');

const ROOT = new URL('../../', import.meta.url).pathname;
const ROOMS = Number(process.env.BENCH_DIST_ROOMS ?? 16);
const SENDERS = Number(process.env.BENCH_DIST_SENDERS ?? 32);
const SYNCERS = Number(process.env.BENCH_DIST_SYNCERS ?? 64);
const SECONDS = Number(process.env.BENCH_DIST_SECONDS ?? 20);
const WARMUP_S = Number(process.env.BENCH_DIST_WARMUP ?? 5);
const HZ = 100;

const testing = await import(join(ROOT, 'dist/libs/testing/src/distributed.js'));
const { startDistributed, distributedInfra } = testing.default ?? testing;

let startedInfra = false;
async function ensureInfra() {
  const env = Object.fromEntries(
    execFileSync('bash', [join(ROOT, 'deploy/local/env.sh')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  );
  for (const [k, v] of Object.entries(env)) process.env[k] ??= v;
  const client = new pg.Client({ connectionString: process.env.AXON_DATABASE_URL });
  try {
    await client.connect();
    await client.end();
  } catch {
    console.error('[bench] infrastructure not reachable: running deploy/local/up.sh');
    execFileSync('bash', [join(ROOT, 'deploy/local/up.sh')], { stdio: 'inherit' });
    startedInfra = true;
  }
}

const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });

async function api(base, method, path, token, body) {
  const res = await request(`${base}${path}`, {
    method,
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : {} };
}

async function register(base, name) {
  const res = await api(base, 'POST', '/_matrix/client/v3/register', undefined, { username: name, password: 'bench pw 1', auth: { type: 'm.login.dummy' } });
  if (res.status !== 200) throw new Error(`register ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return { userId: res.body.user_id, token: res.body.access_token };
}

function cpuTicks(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return total;
}

const pct = (values, p) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

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

async function setup(deployment, users) {
  const base = deployment.baseUrl;
  const owner = await register(base, 'owner');
  const rooms = [];
  for (let r = 0; r < ROOMS; r++) {
    const res = await api(base, 'POST', '/_matrix/client/v3/createRoom', owner.token, { preset: 'public_chat' });
    rooms.push(res.body.room_id);
  }
  const sessions = [];
  for (let u = 0; u < users; u++) {
    const s = await register(base, `u${u}`);
    const roomId = rooms[u % ROOMS];
    const joined = await api(base, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, s.token, {});
    if (joined.status !== 200) throw new Error(`join: ${joined.status}`);
    sessions.push({ ...s, roomId });
  }
  return { owner, rooms, sessions };
}

async function benchSends(roomServers) {
  const deployment = await startDistributed({ replicas: { 'room-server': roomServers, sync: 1 }, env: { AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false', AXON_PRESENCE_ENABLED: 'false', AXON_LOG_LEVEL: 'warn' } });
  try {
    const { sessions } = await setup(deployment, SENDERS);
    let txn = 0;
    const pids = deployment.replicasOf('room-server').map((p) => p.child.pid);
    const others = deployment.processes.filter((p) => p.service === 'client-api').map((p) => p.child.pid);
    let cpu0;
    let cpuOthers0;
    setTimeout(() => {
      cpu0 = cpuTicks(pids);
      cpuOthers0 = cpuTicks(others);
    }, WARMUP_S * 1000);
    const result = await drive(SENDERS, async (i, record) => {
      const s = sessions[i];
      const t0 = performance.now();
      const res = await api(deployment.baseUrl, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(s.roomId)}/send/m.room.message/b${++txn}`, s.token, { msgtype: 'm.text', body: `m${txn}` });
      record(performance.now() - t0, res.status === 200);
    });
    const cpu = (cpuTicks(pids) - cpu0) / HZ / (result.elapsed + 0.0);
    const cpuOthers = (cpuTicks(others) - cpuOthers0) / HZ / result.elapsed;
    return { ...result, cpu, cpuOthers };
  } finally {
    await deployment.stop();
  }
}

async function benchSyncs(syncs) {
  const deployment = await startDistributed({ replicas: { 'room-server': 1, sync: syncs }, env: { AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false', AXON_PRESENCE_ENABLED: 'false', AXON_LOG_LEVEL: 'warn' } });
  try {
    const { owner, rooms, sessions } = await setup(deployment, SYNCERS);
    for (const s of sessions) {
      const first = await api(deployment.baseUrl, 'GET', '/_matrix/client/v3/sync?timeout=0', s.token);
      s.since = first.body.next_batch;
    }
    // Background writes: 20 messages per second over the rooms.
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) {
        await api(deployment.baseUrl, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms[n % ROOMS])}/send/m.room.message/w${n}`, owner.token, { msgtype: 'm.text', body: `w${n}` });
        n++;
        await sleep(50);
      }
    })();
    const pids = deployment.replicasOf('sync').map((p) => p.child.pid);
    let cpu0;
    setTimeout(() => (cpu0 = cpuTicks(pids)), WARMUP_S * 1000);
    const result = await drive(SYNCERS, async (i, record) => {
      const s = sessions[i];
      const t0 = performance.now();
      const res = await api(deployment.baseUrl, 'GET', `/_matrix/client/v3/sync?timeout=0&since=${encodeURIComponent(s.since)}`, s.token);
      if (res.status === 200) s.since = res.body.next_batch;
      record(performance.now() - t0, res.status === 200);
    });
    writing = false;
    await writer;
    const cpu = (cpuTicks(pids) - cpu0) / HZ / result.elapsed;
    return { ...result, cpu };
  } finally {
    await deployment.stop();
  }
}

await ensureInfra();
distributedInfra();
const rows = [];
try {
  for (const replicas of [1, 2]) {
    console.error(`[bench] sends with ${replicas} room-server replica(s)…`);
    const r = await benchSends(replicas);
    rows.push({ what: `send, ${replicas} room-server`, rate: r.latencies.length / r.elapsed, p50: pct(r.latencies, 50), p99: pct(r.latencies, 99), errors: r.errors, cpu: `room-server ${r.cpu.toFixed(2)}, client-api ${r.cpuOthers.toFixed(2)}` });
  }
  for (const replicas of [1, 2]) {
    console.error(`[bench] syncs with ${replicas} sync replica(s)…`);
    const r = await benchSyncs(replicas);
    rows.push({ what: `sync, ${replicas} sync`, rate: r.latencies.length / r.elapsed, p50: pct(r.latencies, 50), p99: pct(r.latencies, 99), errors: r.errors, cpu: `sync ${r.cpu.toFixed(2)}` });
  }
} finally {
  await agent.close();
  if (startedInfra) execFileSync('bash', [join(ROOT, 'deploy/local/down.sh')], { stdio: 'inherit' });
}

console.log(`\nDistributed deployment scaling (${cpus().length} cores, ${ROOMS} rooms, ${SENDERS} senders / ${SYNCERS} syncing users, ${SECONDS} s measured after ${WARMUP_S} s warm-up, through nginx)\n`);
console.log('| configuration | requests/s | p50 ms | p99 ms | errors | CPU s/s of the scaled service |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.what} | ${r.rate.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} | ${r.cpu} |`);
