// Sync latency, idle long-poll memory and initial-sync time over the Client-Server API:
// Axon on PGlite, Axon on PostgreSQL and Synapse on PostgreSQL, on this machine, in this
// run, with the same client code. Run `npm run bench:sync`. Start-up, PostgreSQL and
// Synapse come from lib/ (shared with cs-send.mjs, bench:send).
//
// For each target, one after another (never in parallel): start it fresh (own data dir,
// own database), register a sender, a measurer, a "roomy" user and BENCH_SYNC_IDLE_USERS
// idle users (m.login.dummy UIA flow). Then:
//  0. Initial sync, see 3 (first, then the server is restarted on the same data, so that the
//     memory in 2 is measured on a fresh process, not on a heap the setup already grew).
//  1. Incremental sync with N idle long-polls (N in BENCH_SYNC_POLLS), each N on the server
//     restarted on the same data (until 2026-12-08 the counts were cumulative on one process:
//     a slow server's earlier polls then timed out, 110 s after they opened, while it opened
//     and measured the next ones, and a server answering a steady stream of timed-out polls
//     never went idle). Idle polls are `GET /sync?since=..&timeout=110000` of the idle users,
//     who are in no room and sync with `set_presence=offline` (as a bot or a background
//     client does), so that nothing happens to them while their polls wait. (With the
//     default, `online`, each user's first poll after a restart marked them online and
//     answered every poll of theirs, and the server's presence timers later marked them
//     unavailable or offline and answered them all again: Synapse answered 27,114 idle polls
//     during one 5,000-poll step, and embedded Axon, whose every answer costs more CPU, kept
//     answering and taking back 5,000 polls for over 300 s before they were read.) With more
//     polls than idle users a user has several polls open at once (poll i uses idle user
//     i mod IDLE_USERS). Each poll has a connection of its own, which it re-issues on when it
//     returns (timeout; counted in `idle returns`), as a client's sync loop does: N polls are
//     N connections. After opening, the bench waits until the server holds them all (every
//     connection accepted: none left in the listener's queue, see `waitHeld`) and no poll
//     came back during a quiet stretch of the server's CPU, reads its idle VmRSS
//     (`idleRssKb`: BENCH_IDLE_WAIT s after its CPU settled), then the measurer (in one room
//     with the sender) long-polls in a loop
//     while the sender sends BENCH_SYNC_MESSAGES messages, one at a time, 50 ms after the
//     measurer's poll went out. Latency = from the send's 200 response to the measurer's
//     /sync response that contains the event (it can be slightly negative if the sync answer
//     arrives before the send's own response). (20 unmeasured messages warm this path up
//     first.)
//  2. Memory per idle poll = (idle VmRSS with N polls open - idle VmRSS with none) / N, of the
//     server process only (PostgreSQL backends not counted; the pool sizes are fixed). Both
//     readings are taken the same way for every target, BENCH_IDLE_WAIT s after the CPU
//     settled: an idle server is one nobody has used for a while, and reading the moment the
//     CPU calms down measured whatever the last request left behind, which differs by when
//     that is. (Until 2026-12-08 the bench read half a second after the CPU settled: before
//     or after Axon's idle memory reduction, which comes 1 s after its last work, by chance;
//     one probe read 20.9 KB a poll at once and 14.0 KB two seconds later. The polls shared
//     an undici Agent's connections, which opened a new one when a re-issued poll raced the
//     previous answer: up to 12% more connections than polls, each holding what a poll's
//     connection holds. And it waited only until the kernel had established every
//     connection: one embedded run was read with about 2,300 of its 5,000 polls accepted,
//     the rest still queued in the listener's backlog.)
//  3. Initial sync (the idle polls closed first): the roomy user creates public rooms, each with BENCH_SYNC_ROOM_MESSAGES
//     messages, up to each of BENCH_SYNC_ROOMS in turn (10, then 90 more, then 400 more);
//     at each size, GET /sync without `since` BENCH_SYNC_INITIAL_RUNS times (median). The
//     filter is inline, timeline limit 10, with a per-request nonce in an account_data
//     not_types list so Synapse's sync response cache never answers a repeat.
//
// Environment:
//   BENCH_SYNC_TARGETS         axon-pglite,axon-postgres,synapse   (any subset)
//   BENCH_SYNC_POLLS           0,100,1000,5000   idle long-polls (one step each, on the server restarted)
//   BENCH_SYNC_IDLE_USERS      1000  users the idle polls belong to (5,000 polls: 5 per user)
//   BENCH_SYNC_MESSAGES        100   measured messages per poll count
//   BENCH_SYNC_ROOMS           10,100,500   room counts for the initial sync (ascending)
//   BENCH_SYNC_ROOM_MESSAGES   3     messages per room (initial sync)
//   BENCH_SYNC_INITIAL_RUNS    3     initial syncs per room count (median reported)
//   BENCH_SYNC_KEEP            1 keeps data dirs, logs and databases (printed)
//   BENCH_IDLE_WAIT            10    seconds an idle RSS reading waits after the CPU settled (lib/process.mjs idleRssKb)
//   BENCH_SYNC_AXON_NODE_ARGS  extra node flags for Axon
//   BENCH_AXON_BASELINE        path of another checkout with a built dist/: adds axon-pglite@base
//                              and axon-postgres@base (its homeserver) to the default targets
//
// PostgreSQL and Synapse as in cs-send.mjs: AXON_DATABASE_URL (source deploy/local/env.sh), else
// deploy/local/up.sh (and down.sh at the end); Synapse from PyPI via deploy/local/synapse.sh.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeClient, must, pool, register, sendPath } from './lib/http.mjs';
import { PgCluster } from './lib/postgres.mjs';
import { idleRssKb, settle } from './lib/process.mjs';
import { fmt, median, percentile, printTable, ratio } from './lib/report.mjs';
import { BenchRun, list, machineLine } from './lib/run.mjs';
import { createTargetDatabase, parseTargets, startServer, synapseInfo } from './lib/servers.mjs';

const require = createRequire(import.meta.url);
const { Client } = require('undici');

const run = new BenchRun('sync', { keep: process.env.BENCH_SYNC_KEEP === '1' });
const TARGETS = parseTargets(process.env.BENCH_SYNC_TARGETS);
const POLLS = list(process.env.BENCH_SYNC_POLLS, '0,100,1000,5000').map(Number).sort((a, b) => a - b);
const IDLE_USERS = Number(process.env.BENCH_SYNC_IDLE_USERS ?? 1000);
const MESSAGES = Number(process.env.BENCH_SYNC_MESSAGES ?? 100);
const ROOMS = list(process.env.BENCH_SYNC_ROOMS, '10,100,500').map(Number).sort((a, b) => a - b);
const ROOM_MESSAGES = Number(process.env.BENCH_SYNC_ROOM_MESSAGES ?? 3);
const INITIAL_RUNS = Number(process.env.BENCH_SYNC_INITIAL_RUNS ?? 3);
const NODE_ARGS = (process.env.BENCH_SYNC_AXON_NODE_ARGS ?? '').split(' ').filter(Boolean);
const IDLE_WAIT_S = Number(process.env.BENCH_IDLE_WAIT ?? 10);
const IDLE_TIMEOUT_MS = 110_000; // under Axon's 120 s cap; no idle poll times out during the steps
// How long the server may take to accept every poll's connection and go quiet (embedded
// Axon took 110 s for 5,000 polls on a loaded 2-core machine).
const HOLD_DEADLINE_MS = 300_000;
const cluster = new PgCluster(run);

// ---------------------------------------------------------------------------------------
// The workload, identical for every server.

let txnCounter = 0;

// Sockets the server process holds (client connections, plus its listener and DB pool).
function socketCount(pid) {
  let n = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    return NaN;
  }
  return n;
}

// Established TCP connections to the server's port from the idle polls' own source address
// (127.0.0.2), server side (/proc/net/tcp).
const IDLE_SOURCE = '127.0.0.2';
function connCount(port) {
  const hex = `:${Number(port).toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const f of ['/proc/net/tcp']) {
    let text;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 3 && cols[3] === '01' && cols[1].endsWith(hex) && cols[2].startsWith('0200007F:')) n++;
    }
  }
  return n;
}

// Connections completed by the kernel but not yet accepted by the server: the rx_queue of
// the listening socket on `port` (/proc/net/tcp, state 0A).
function acceptQueue(port) {
  const hex = `:${Number(port).toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length > 4 && cols[3] === '0A' && cols[1].endsWith(hex)) n += parseInt(cols[4].split(':')[1], 16);
  }
  return n;
}

function openFilesLimit() {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

const syncPath = ({ since, timeout, filter, presence }) => {
  const q = new URLSearchParams();
  if (since !== undefined) q.set('since', since);
  if (timeout !== undefined) q.set('timeout', String(timeout));
  if (presence !== undefined) q.set('set_presence', presence);
  if (filter !== undefined) q.set('filter', typeof filter === 'string' ? filter : JSON.stringify(filter));
  return `/_matrix/client/v3/sync?${q}`;
};

async function sendMessage(client, user, roomId, body) {
  return must(client.call('PUT', sendPath(roomId, `${run.id}-${++txnCounter}`), { token: user.token, body: { msgtype: 'm.text', body } }), 'send');
}

// Idle long-polls, each on a connection of its own (an undici Client), re-issued on it when
// they return.
class IdlePolls {
  constructor(baseUrl, users) {
    this.baseUrl = baseUrl;
    this.users = users;
    this.started = 0;
    this.returns = 0;
    this.errors = 0;
    this.firstError = undefined;
    this.stopped = false;
    this.clients = [];
  }

  startOne() {
    const user = this.users[this.started % this.users.length];
    this.started++;
    const client = new Client(this.baseUrl, { pipelining: 1, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 120_000, keepAliveMaxTimeout: 600_000, localAddress: IDLE_SOURCE, connect: { timeout: 60_000 } });
    this.clients.push(client);
    void (async () => {
      let since = user.since;
      while (!this.stopped) {
        try {
          const res = await client.request({ method: 'GET', path: syncPath({ since, timeout: IDLE_TIMEOUT_MS, presence: 'offline' }), headers: { authorization: `Bearer ${user.token}` } });
          const text = await res.body.text();
          if (this.stopped) break;
          if (res.statusCode === 200) {
            this.returns++;
            since = JSON.parse(text).next_batch ?? since;
          } else {
            this.errors++;
            this.firstError ??= `HTTP ${res.statusCode} ${text.slice(0, 200)}`;
            await sleep(1000);
          }
        } catch (err) {
          if (this.stopped) break;
          this.errors++;
          this.firstError ??= String(err?.code ?? err);
          await sleep(1000);
        }
      }
    })();
  }

  // Opens polls up to `n` in total, 200 at a time.
  async openTo(n) {
    while (this.started < n) {
      const batch = Math.min(200, n - this.started);
      for (let i = 0; i < batch; i++) this.startOne();
      await sleep(50);
    }
  }

  async close() {
    this.stopped = true;
    await Promise.all(this.clients.map((client) => client.destroy().catch(() => {})));
  }
}

// Waits until the server holds `n` idle polls: as many established connections from the
// polls' address, none of them left in the listener's accept queue (a busy server leaves
// thousands there, and the kernel counts them established), then until no poll came back
// while the server's CPU settled. Returns whether it got there before the deadline.
async function waitHeld(pid, port, polls, n, conns0) {
  const deadline = performance.now() + HOLD_DEADLINE_MS;
  while (connCount(port) < conns0 + n || acceptQueue(port) > 0) {
    if (performance.now() > deadline) return false;
    await sleep(250);
  }
  for (;;) {
    const returns = polls.returns;
    await settle(pid);
    if (polls.returns === returns) return true;
    if (performance.now() > deadline) return false;
  }
}

// The measurer long-polls until it sees `marker` in the room's timeline (or `deadline`).
async function waitForMarker(client, state, roomId, marker, deadline) {
  while (performance.now() < deadline) {
    const r = await client.call('GET', syncPath({ since: state.since, timeout: 30_000 }), { token: state.token });
    if (r.status !== 200) throw new Error(`measurer sync: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
    const t = performance.now();
    state.since = r.json.next_batch;
    const events = r.json.rooms?.join?.[roomId]?.timeline?.events ?? [];
    if (events.some((e) => e.content?.body === marker)) return t;
  }
  throw new Error(`measurer did not see ${marker} within the deadline`);
}

async function measureLatency(client, server, measurer, sender, roomId, count = MESSAGES) {
  const latencies = [];
  let errors = 0;
  let firstError;
  for (let i = 0; i < count; i++) {
    const marker = `${run.id} latency ${++txnCounter}`;
    const seen = waitForMarker(client, measurer, roomId, marker, performance.now() + 60_000);
    seen.catch(() => {});
    await sleep(50); // let the measurer's long-poll reach the server
    try {
      const r = await client.call('PUT', sendPath(roomId, `${run.id}-${txnCounter}`), { token: sender.token, body: { msgtype: 'm.text', body: marker } });
      const sent = performance.now();
      if (r.status !== 200) throw new Error(`send: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
      latencies.push((await seen) - sent);
    } catch (err) {
      errors++;
      firstError ??= err.message;
      if (server.gone()) break;
      await seen.catch(() => {}); // do not overlap two measurer polls
    }
  }
  return { latencies, errors, firstError };
}

async function runWorkload(target, baseUrl, server) {
  let client = makeClient(baseUrl);
  let polls;
  try {
    let t = performance.now();
    const sender = await register(client, 'sender');
    const measurer = await register(client, 'measurer');
    const roomy = await register(client, 'roomy');
    const idle = new Array(IDLE_USERS);
    await pool(IDLE_USERS, 8, async (i) => {
      idle[i] = await register(client, `idle${i}`);
    });
    run.log(`${target}: ${IDLE_USERS + 3} users registered in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const { room_id: roomId } = await must(client.call('POST', '/_matrix/client/v3/createRoom', { token: sender.token, body: { preset: 'public_chat', name: 'latency' } }), 'createRoom');
    await must(client.call('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: measurer.token, body: {} }), 'join measurer');
    await sendMessage(client, sender, roomId, 'hello');
    measurer.since = (await must(client.call('GET', syncPath({ timeout: 0 }), { token: measurer.token }), 'measurer initial sync')).next_batch;
    await pool(IDLE_USERS, 10, async (i) => {
      idle[i].since = (await must(client.call('GET', syncPath({ timeout: 0, presence: 'offline' }), { token: idle[i].token }), `idle${i} initial sync`)).next_batch;
    });

    // 3. Initial sync of a user in 10, 100, 500 rooms (done first; the polls come after a restart).
    const initial = [];
    let made = 0;
    let nonce = 0;
    for (const rooms of ROOMS) {
      t = performance.now();
      await pool(rooms - made, 4, async (k) => {
        const { room_id } = await must(client.call('POST', '/_matrix/client/v3/createRoom', { token: roomy.token, body: { preset: 'public_chat', name: `room ${made + k}` } }), 'createRoom');
        for (let m = 0; m < ROOM_MESSAGES; m++) await sendMessage(client, roomy, room_id, `message ${m} in room ${made + k}`);
      });
      run.log(`${target}: ${rooms - made} rooms created (${rooms} in all) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      made = rooms;
      const times = [];
      let returned = NaN;
      let errors = 0;
      let firstError;
      for (let run = 0; run < INITIAL_RUNS; run++) {
        const filter = { room: { timeline: { limit: 10 }, account_data: { not_types: [`bench.nonce.${run.id}.${++nonce}`] } } };
        const s = performance.now();
        const r = await client.call('GET', syncPath({ filter }), { token: roomy.token });
        const ms = performance.now() - s;
        if (r.status !== 200) {
          errors++;
          firstError ??= `HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`;
          continue;
        }
        times.push(ms);
        returned = Object.keys(r.json.rooms?.join ?? {}).length;
      }
      const row = { target, rooms, runs: times.length, median: median(times), min: Math.min(...times), max: Math.max(...times), returned, errors };
      initial.push(row);
      run.log(`${target}: initial sync in ${rooms} rooms: median ${row.median.toFixed(1)} ms (${times.map((x) => x.toFixed(0)).join(', ')}), ${returned} rooms returned`);
      if (errors) run.note(`${target} initial sync ${rooms} rooms: ${errors} errors, first: ${firstError}`);
    }

    // 1./2. Incremental latency and memory with N idle long-polls, each N on the server
    // restarted (same data): a heap grown by registrations, initial syncs or the previous
    // step's polls would hide what the polls add to the resident set, and polls left open
    // from a previous step would time out (110 s) during this one.
    const port = new URL(baseUrl).port;
    const incremental = [];
    for (const n of POLLS) {
      t = performance.now();
      await client.close();
      await server.restart();
      client = makeClient(baseUrl);
      run.log(`${target}: restarted in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      const pid = server.pid;
      await measureLatency(client, server, measurer, sender, roomId, 20).then((w) => w.errors && run.log(`${target}: warm-up errors: ${w.firstError}`));
      const idle0 = await idleRssKb(pid, IDLE_WAIT_S);
      if (!idle0.settled) run.note(`${target} ${n} polls: CPU did not settle before the reading with no poll`);
      const rss0 = idle0.kb;
      const conns0 = connCount(port);
      t = performance.now();
      polls = new IdlePolls(baseUrl, idle);
      await polls.openTo(n);
      if (!(await waitHeld(pid, port, polls, n, conns0))) run.note(`${target} ${n} polls: not all held and quiet after ${HOLD_DEADLINE_MS / 1000} s (${connCount(port) - conns0} connections, ${acceptQueue(port)} unaccepted)`);
      const opened = (performance.now() - t) / 1000;
      const idleN = n > 0 ? await idleRssKb(pid, IDLE_WAIT_S) : idle0;
      if (!idleN.settled) run.note(`${target} ${n} polls: CPU did not settle before the reading`);
      const rss = idleN.kb;
      const sockets = socketCount(pid);
      const conns = connCount(port) - conns0;
      const returns0 = polls.returns;
      const errors0 = polls.errors;
      const r = await measureLatency(client, server, measurer, sender, roomId);
      const sorted = Float64Array.from(r.latencies).sort();
      const row = {
        target,
        n,
        conns,
        msgs: sorted.length,
        msgErrors: r.errors,
        pollErrors: polls.errors - errors0,
        idleReturns: polls.returns - returns0,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.length ? sorted[sorted.length - 1] : NaN,
        rss0Mb: rss0 / 1024,
        rssMb: rss / 1024,
        kbPerPoll: n > 0 ? (rss - rss0) / n : NaN,
      };
      incremental.push(row);
      run.log(
        `${target}: ${n} idle polls (held and quiet after ${opened.toFixed(1)} s, ${sockets} server sockets, idle RSS ${(rss0 / 1024).toFixed(0)} -> ${row.rssMb.toFixed(0)} MB): p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms` +
          (r.errors ? `, ${r.errors} message errors (first: ${r.firstError})` : '') +
          (row.pollErrors ? `, ${row.pollErrors} idle poll errors (first: ${polls.firstError})` : ''),
      );
      if (r.errors) run.note(`${target} ${n} polls: ${r.errors} latency errors, first: ${r.firstError}`);
      if (row.pollErrors) run.note(`${target} ${n} polls: ${row.pollErrors} idle poll errors, first: ${polls.firstError}`);
      await polls.close();
      polls = undefined;
      if (server.gone()) break;
    }
    return { initial, incremental };
  } finally {
    await polls?.close();
    await client.close();
  }
}

// One target: fresh server and database, the workload, the server stopped (by pid).
async function benchTarget(target) {
  const dbUrl = target.postgres ? await createTargetDatabase(cluster, run, 'sync', target) : undefined;
  const server = await startServer(run, target, { databaseUrl: dbUrl, nodeArgs: target.axon ? NODE_ARGS : [] });
  try {
    return await runWorkload(target.name, server.baseUrl, server);
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------
// Main

const nofile = openFilesLimit();
console.log(`${machineLine()}; open files limit ${nofile}`);
console.log(
  `idle long-polls ${POLLS.join(', ')} (each count on the server restarted, timeout ${IDLE_TIMEOUT_MS / 1000} s, spread over ${IDLE_USERS} idle users in no room); ${MESSAGES} measured messages per step; ` +
    `initial sync in ${ROOMS.join(', ')} rooms (${ROOM_MESSAGES} messages each, median of ${INITIAL_RUNS}); targets run one after another`,
);
const maxPolls = Math.max(...POLLS);
if (Number.isFinite(nofile) && nofile < maxPolls + 500) run.note(`open files limit ${nofile} is below ${maxPolls} polls + headroom: raise it (ulimit -n) or expect connection errors`);

const results = { initial: [], incremental: [] };
try {
  const havePg = TARGETS.some((t) => t.postgres) ? await cluster.ensure() : false;
  for (const target of TARGETS) {
    if (run.interrupted) break;
    run.log(`--- ${target.name}`);
    try {
      if (target.postgres && !havePg) throw new Error('no PostgreSQL');
      const r = await benchTarget(target);
      results.initial.push(...r.initial);
      results.incremental.push(...r.incremental);
    } catch (err) {
      run.fail(target.name, err);
    }
  }
} finally {
  await run.cleanup();
}

// ---------------------------------------------------------------------------------------
// Report

const versions = [`node ${process.version}`];
if (cluster.version) versions.push(cluster.version);
if (synapseInfo()) versions.push(synapseInfo());
console.log(versions.join('; '));
const tw = Math.max(13, ...TARGETS.map((t) => t.name.length));
printTable(
  ['target', 'idle polls', 'conns', 'msgs', 'msg errors', 'poll errors', 'idle returns', 'p50 ms', 'p99 ms', 'max ms', 'RSS0 MB', 'RSS MB', 'KB/poll'],
  [tw, 10, 5, 5, 10, 11, 12, 7, 7, 7, 7, 6, 7],
  results.incremental.map((r) => [r.target, r.n, r.conns, r.msgs, r.msgErrors, r.pollErrors, r.idleReturns, fmt(r.p50), fmt(r.p99), fmt(r.max), fmt(r.rss0Mb, 0), fmt(r.rssMb, 0), fmt(r.kbPerPoll, 1)]),
);
console.log("(incremental sync: send response -> measurer's /sync response with the event; each poll count on the server restarted; conns = established TCP connections of the idle polls at the server;");
console.log(` RSS0, RSS = server's idle VmRSS with none and with the polls open, each read ${IDLE_WAIT_S} s after its CPU settled; KB/poll = (RSS - RSS0) / polls;`);
console.log(' idle returns = idle polls that came back during the step)');
printTable(
  ['target', 'rooms', 'runs', 'median ms', 'min ms', 'max ms', 'rooms returned'],
  [tw, 5, 4, 9, 7, 7, 14],
  results.initial.map((r) => [r.target, r.rooms, r.runs, fmt(r.median), fmt(r.min), fmt(r.max), r.returned]),
);
console.log('(initial sync: GET /sync without since, timeline limit 10, of a user who created every room)');

const sInc = new Map(results.incremental.filter((r) => r.target === 'synapse').map((r) => [r.n, r]));
const sIni = new Map(results.initial.filter((r) => r.target === 'synapse').map((r) => [r.rooms, r]));
const ratioRows = [];
for (const a of results.incremental.filter((r) => r.target !== 'synapse')) {
  const s = sInc.get(a.n);
  if (s) ratioRows.push([a.target, `incremental, ${a.n} idle polls`, ratio(a.p50, s.p50), ratio(a.p99, s.p99), a.n ? ratio(a.kbPerPoll, s.kbPerPoll) : '-']);
}
for (const a of results.initial.filter((r) => r.target !== 'synapse')) {
  const s = sIni.get(a.rooms);
  if (s) ratioRows.push([a.target, `initial sync, ${a.rooms} rooms`, ratio(a.median, s.median), '-', '-']);
}
if (ratioRows.length) {
  printTable(['Axon / Synapse', 'measure', 'p50/median', 'p99', 'KB/poll'], [Math.max(14, tw), 29, 10, 6, 7], ratioRows);
  console.log('(below 1: Axon is faster / uses less memory per idle poll)');
} else {
  console.log('\nno Axon / Synapse ratios: ' + (sInc.size ? 'no Axon results' : 'no Synapse results in this run'));
}
run.printFooter({ infraStartedByUs: cluster.startedByUs });
