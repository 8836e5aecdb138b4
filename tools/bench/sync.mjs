// Sync latency, idle long-poll memory and initial-sync time over the Client-Server API:
// Axon on PGlite, Axon on PostgreSQL and Synapse on PostgreSQL, on this machine, in this
// run, with the same client code. Run `npm run bench:sync`. Modelled on cs-send.mjs
// (bench:send); the process, PostgreSQL and Synapse helpers are copied from it.
//
// For each target, one after another (never in parallel): start it fresh (own data dir,
// own database), register a sender, a measurer, a "roomy" user and BENCH_SYNC_IDLE_USERS
// idle users (m.login.dummy UIA flow). Then:
//  0. Initial sync, see 3 (first, then the server is restarted on the same data, so that the
//     memory in 2 is measured on a fresh process, not on a heap the setup already grew).
//  1. Incremental sync with N idle long-polls (N in BENCH_SYNC_POLLS, cumulative: the polls
//     of one step stay open for the next). Idle polls are `GET /sync?since=..&timeout=110000`
//     of the idle users, who are in no room; with more polls than idle users a user has
//     several polls open at once (poll i uses idle user i mod IDLE_USERS). A poll that returns
//     (timeout, presence) is re-issued at once and counted in `idle returns`. After opening,
//     the bench waits until the server's CPU is quiet, reads VmRSS, then the measurer (in one
//     room with the sender) long-polls in a loop while the sender sends BENCH_SYNC_MESSAGES
//     messages, one at a time, 50 ms after the measurer's poll went out. Latency = from the
//     send's 200 response to the measurer's /sync response that contains the event (it can be
//     slightly negative if the sync answer arrives before the send's own response).
//     (20 unmeasured messages warm this path up first.)
//  2. Memory per idle poll = (VmRSS with N polls open - VmRSS with none) / N, of the server
//     process only (PostgreSQL backends not counted; the pool sizes are fixed).
//  3. Initial sync (the idle polls closed first): the roomy user creates public rooms, each with BENCH_SYNC_ROOM_MESSAGES
//     messages, up to each of BENCH_SYNC_ROOMS in turn (10, then 90 more, then 400 more);
//     at each size, GET /sync without `since` BENCH_SYNC_INITIAL_RUNS times (median). The
//     filter is inline, timeline limit 10, with a per-request nonce in an account_data
//     not_types list so Synapse's sync response cache never answers a repeat.
//
// Environment:
//   BENCH_SYNC_TARGETS         axon-pglite,axon-postgres,synapse   (any subset)
//   BENCH_SYNC_POLLS           0,100,1000,5000   idle long-polls (ascending, cumulative)
//   BENCH_SYNC_IDLE_USERS      1000  users the idle polls belong to (5,000 polls: 5 per user)
//   BENCH_SYNC_MESSAGES        100   measured messages per poll count
//   BENCH_SYNC_ROOMS           10,100,500   room counts for the initial sync (ascending)
//   BENCH_SYNC_ROOM_MESSAGES   3     messages per room (initial sync)
//   BENCH_SYNC_INITIAL_RUNS    3     initial syncs per room count (median reported)
//   BENCH_SYNC_KEEP            1 keeps data dirs, logs and databases (printed)
//   BENCH_SYNC_AXON_NODE_ARGS  extra node flags for Axon
//
// PostgreSQL and Synapse as in cs-send.mjs: AXON_DATABASE_URL (source deploy/local/env.sh), else
// deploy/local/up.sh (and down.sh at the end); Synapse from PyPI via deploy/local/synapse.sh.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Agent, request } = require('undici');
const pg = require('pg');

const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = join(ROOT, 'dist/apps/homeserver/src/main.js');
// Listening ports below the ephemeral range (an outgoing connection cannot take one first).
const { freePort } = require(join(ROOT, 'dist/libs/testing/src/ports.js'));
const list = (v, d) => (v ?? d).split(',').map((s) => s.trim()).filter(Boolean);
const TARGETS = list(process.env.BENCH_SYNC_TARGETS, 'axon-pglite,axon-postgres,synapse');
const POLLS = list(process.env.BENCH_SYNC_POLLS, '0,100,1000,5000').map(Number).sort((a, b) => a - b);
const IDLE_USERS = Number(process.env.BENCH_SYNC_IDLE_USERS ?? 1000);
const MESSAGES = Number(process.env.BENCH_SYNC_MESSAGES ?? 100);
const ROOMS = list(process.env.BENCH_SYNC_ROOMS, '10,100,500').map(Number).sort((a, b) => a - b);
const ROOM_MESSAGES = Number(process.env.BENCH_SYNC_ROOM_MESSAGES ?? 3);
const INITIAL_RUNS = Number(process.env.BENCH_SYNC_INITIAL_RUNS ?? 3);
const KEEP = process.env.BENCH_SYNC_KEEP === '1';
const IDLE_TIMEOUT_MS = 110_000; // under Axon's 120 s cap; no idle poll times out during the steps
const SERVER_NAME = 'bench.localhost';
const RUN_ID = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const PASSWORD = 'bench-password-1';
const HZ = 100; // USER_HZ: /proc/<pid>/stat ticks per second on Linux
const PAGE = 4096;

const started = performance.now();
const cleanups = []; // run in reverse order, also on failure / Ctrl-C
const notes = [];
const log = (msg) => process.stderr.write(`[bench:sync] ${msg}\n`);

// ---------------------------------------------------------------------------------------
// Process and machine helpers

function procStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after "comm": state(0) ppid(1) ... utime(11) stime(12) ... rss(21)
    return { cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / HZ, rssMb: (Number(f[21]) * PAGE) / 2 ** 20 };
  } catch {
    return undefined;
  }
}

// Starts a child with its output in a log file; returns { pid, exited, stop }.
function startProcess(name, cmd, args, { env, cwd, logFile }) {
  const out = openSync(logFile, 'a');
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', out, out] });
  closeSync(out);
  let exitInfo;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exitInfo = { code, signal }))));
  const stop = async () => {
    if (exitInfo) return exitInfo;
    child.kill('SIGTERM');
    const t = setTimeout(() => {
      log(`${name} (pid ${child.pid}) still running 20 s after SIGTERM; SIGKILL`);
      child.kill('SIGKILL');
    }, 20000);
    const r = await exited;
    clearTimeout(t);
    return r;
  };
  cleanups.push(stop);
  return { pid: child.pid, exited, stop, isExited: () => exitInfo !== undefined, logFile };
}

function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------
// HTTP client: one undici Agent per target (keep-alive, a connection per in-flight
// request), the same code for every server.

function makeClient(baseUrl) {
  const dispatcher = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000, connections: null, pipelining: 1 });
  async function call(method, path, { token, body } = {}) {
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await request(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher,
    });
    const text = await res.body.text();
    let json;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { raw: text };
    }
    return { status: res.statusCode, json };
  }
  return { call, close: () => dispatcher.close() };
}

async function must(promise, what) {
  const r = await promise;
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
  return r.json;
}

async function waitReady(baseUrl, proc, name, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.isExited()) throw new Error(`${name} exited while starting; last lines of ${proc.logFile}:\n${tail(proc.logFile)}`);
    try {
      const res = await fetch(`${baseUrl}/_matrix/client/versions`);
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutMs / 1000} s; last lines of ${proc.logFile}:\n${tail(proc.logFile)}`);
    await sleep(200);
  }
}

// Runs fn(i) for i in [0, n) with at most `limit` at a time.
async function pool(n, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, limit) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}
// ---------------------------------------------------------------------------------------
// The workload, identical for every server.

let serverGone = () => false; // set per target: has the server process exited?
let txnCounter = 0;

function vmRssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

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

function openFilesLimit() {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

// Waits until the server used under 5% of a core for 0.5 s (at most `maxMs`).
async function settle(pid, maxMs = 30_000) {
  const deadline = performance.now() + maxMs;
  await sleep(500);
  for (;;) {
    const a = procStat(pid)?.cpuMs ?? NaN;
    await sleep(500);
    const b = procStat(pid)?.cpuMs ?? NaN;
    if (!(b - a > 25) || performance.now() > deadline) return;
  }
}

async function register(client, username) {
  const body = { username, password: PASSWORD, initial_device_display_name: 'bench' };
  const first = await client.call('POST', '/_matrix/client/v3/register', { body });
  if (first.status !== 401 || !first.json.session) throw new Error(`register ${username}: expected 401 with a session, got ${first.status} ${JSON.stringify(first.json)}`);
  const done = await must(
    client.call('POST', '/_matrix/client/v3/register', { body: { ...body, auth: { type: 'm.login.dummy', session: first.json.session } } }),
    `register ${username}`,
  );
  return { userId: done.user_id, token: done.access_token };
}

const syncPath = ({ since, timeout, filter }) => {
  const q = new URLSearchParams();
  if (since !== undefined) q.set('since', since);
  if (timeout !== undefined) q.set('timeout', String(timeout));
  if (filter !== undefined) q.set('filter', typeof filter === 'string' ? filter : JSON.stringify(filter));
  return `/_matrix/client/v3/sync?${q}`;
};
const sendPath = (roomId) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/`;

async function sendMessage(client, user, roomId, body) {
  return must(client.call('PUT', sendPath(roomId) + `${RUN_ID}-${++txnCounter}`, { token: user.token, body: { msgtype: 'm.text', body } }), 'send');
}

// Idle long-polls on their own Agent (a connection each), re-issued when they return.
class IdlePolls {
  constructor(baseUrl, users) {
    this.baseUrl = baseUrl;
    this.users = users;
    this.started = 0;
    this.returns = 0;
    this.errors = 0;
    this.firstError = undefined;
    this.stopped = false;
    this.agent = new Agent({ connections: null, pipelining: 1, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 120_000, keepAliveMaxTimeout: 600_000, localAddress: IDLE_SOURCE, connect: { timeout: 60_000 } });
  }

  startOne() {
    const user = this.users[this.started % this.users.length];
    this.started++;
    void (async () => {
      let since = user.since;
      while (!this.stopped) {
        try {
          const res = await request(this.baseUrl + syncPath({ since, timeout: IDLE_TIMEOUT_MS }), { headers: { authorization: `Bearer ${user.token}` }, dispatcher: this.agent });
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
    await this.agent.destroy().catch(() => {});
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

async function measureLatency(client, measurer, sender, roomId, count = MESSAGES) {
  const latencies = [];
  let errors = 0;
  let firstError;
  for (let i = 0; i < count; i++) {
    const marker = `${RUN_ID} latency ${++txnCounter}`;
    const seen = waitForMarker(client, measurer, roomId, marker, performance.now() + 60_000);
    seen.catch(() => {});
    await sleep(50); // let the measurer's long-poll reach the server
    try {
      const r = await client.call('PUT', sendPath(roomId) + `${RUN_ID}-${txnCounter}`, { token: sender.token, body: { msgtype: 'm.text', body: marker } });
      const sent = performance.now();
      if (r.status !== 200) throw new Error(`send: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
      latencies.push((await seen) - sent);
    } catch (err) {
      errors++;
      firstError ??= err.message;
      if (serverGone()) break;
      await seen.catch(() => {}); // do not overlap two measurer polls
    }
  }
  return { latencies, errors, firstError };
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const median = (xs) => percentile(Float64Array.from(xs).sort(), 50);

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
    log(`${target}: ${IDLE_USERS + 3} users registered in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const { room_id: roomId } = await must(client.call('POST', '/_matrix/client/v3/createRoom', { token: sender.token, body: { preset: 'public_chat', name: 'latency' } }), 'createRoom');
    await must(client.call('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: measurer.token, body: {} }), 'join measurer');
    await sendMessage(client, sender, roomId, 'hello');
    measurer.since = (await must(client.call('GET', syncPath({ timeout: 0 }), { token: measurer.token }), 'measurer initial sync')).next_batch;
    await pool(IDLE_USERS, 10, async (i) => {
      idle[i].since = (await must(client.call('GET', syncPath({ timeout: 0 }), { token: idle[i].token }), `idle${i} initial sync`)).next_batch;
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
      log(`${target}: ${rooms - made} rooms created (${rooms} in all) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      made = rooms;
      const times = [];
      let returned = NaN;
      let errors = 0;
      let firstError;
      for (let run = 0; run < INITIAL_RUNS; run++) {
        const filter = { room: { timeline: { limit: 10 }, account_data: { not_types: [`bench.nonce.${RUN_ID}.${++nonce}`] } } };
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
      log(`${target}: initial sync in ${rooms} rooms: median ${row.median.toFixed(1)} ms (${times.map((x) => x.toFixed(0)).join(', ')}), ${returned} rooms returned`);
      if (errors) notes.push(`${target} initial sync ${rooms} rooms: ${errors} errors, first: ${firstError}`);
    }

    // 1./2. Incremental latency and memory with N idle long-polls (cumulative), on the server
    // restarted (same data): a heap grown by registrations and initial syncs would hide what
    // the polls add to the resident set.
    t = performance.now();
    await client.close();
    await server.restart();
    client = makeClient(baseUrl);
    log(`${target}: restarted in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const pid = server.pid;
    await measureLatency(client, measurer, sender, roomId, 20).then((w) => w.errors && log(`${target}: warm-up errors: ${w.firstError}`));
    await settle(pid);
    const rss0 = vmRssKb(pid);
    const port = new URL(baseUrl).port;
    const conns0 = connCount(port);
    polls = new IdlePolls(baseUrl, idle);
    const incremental = [];
    let prev = { n: 0, rss: rss0 };
    for (const n of POLLS) {
      t = performance.now();
      await polls.openTo(n);
      // Every poll's connection accepted (a server with a short listen backlog takes a while).
      const acceptDeadline = performance.now() + 60_000;
      while (connCount(port) < conns0 + n && performance.now() < acceptDeadline) await sleep(250);
      await settle(pid);
      const opened = (performance.now() - t) / 1000;
      const rss = vmRssKb(pid);
      const sockets = socketCount(pid);
      const conns = connCount(port) - conns0;
      const returns0 = polls.returns;
      const errors0 = polls.errors;
      const r = await measureLatency(client, measurer, sender, roomId);
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
        rssMb: rss / 1024,
        kbPerPoll: n > 0 ? (rss - rss0) / n : NaN,
        kbPerAddedPoll: n > prev.n ? (rss - prev.rss) / (n - prev.n) : NaN,
      };
      prev = { n, rss };
      incremental.push(row);
      log(
        `${target}: ${n} idle polls (open+settle ${opened.toFixed(1)} s, ${sockets} server sockets, RSS ${row.rssMb.toFixed(0)} MB): p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms` +
          (r.errors ? `, ${r.errors} message errors (first: ${r.firstError})` : '') +
          (row.pollErrors ? `, ${row.pollErrors} idle poll errors (first: ${polls.firstError})` : ''),
      );
      if (r.errors) notes.push(`${target} ${n} polls: ${r.errors} latency errors, first: ${r.firstError}`);
      if (row.pollErrors) notes.push(`${target} ${n} polls: ${row.pollErrors} idle poll errors, first: ${polls.firstError}`);
      if (serverGone()) break;
    }
    return { initial, incremental, rss0Mb: rss0 / 1024 };
  } finally {
    await polls?.close();
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

let adminUrl = process.env.AXON_DATABASE_URL ?? 'postgres://axon:axon@127.0.0.1:5432/axon';
let infraStartedByUs = false;

async function pgReachable() {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function ensurePostgres() {
  if (await pgReachable()) return true;
  if (process.env.AXON_DATABASE_URL) {
    notes.push(`AXON_DATABASE_URL is set but not reachable: Postgres targets skipped`);
    return false;
  }
  log('no PostgreSQL at 127.0.0.1:5432: starting deploy/local/up.sh (down.sh runs at the end)');
  try {
    execFileSync('bash', [join(ROOT, 'deploy/local/up.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    notes.push(`deploy/local/up.sh failed (${err.message.split('\n')[0]}): Postgres targets skipped`);
    return false;
  }
  infraStartedByUs = true;
  cleanups.unshift(async () => {
    // unshift: runs last, after every homeserver has stopped.
    log('stopping the infrastructure this run started (deploy/local/down.sh)');
    try {
      execFileSync('bash', [join(ROOT, 'deploy/local/down.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (err) {
      log(`down.sh failed: ${err.message}`);
    }
  });
  return pgReachable();
}

async function createDatabase(name, { synapse = false } = {}) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    // Synapse refuses a database whose collation is not C (or it warns and misorders).
    await c.query(synapse ? `CREATE DATABASE "${name}" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0` : `CREATE DATABASE "${name}"`);
    const { rows } = await c.query('select version() as v');
    pgVersion = rows[0].v.split(' ').slice(0, 2).join(' ');
  } finally {
    await c.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  if (!KEEP) {
    cleanups.push(async () => {
      const d = new pg.Client({ connectionString: adminUrl });
      try {
        await d.connect();
        await d.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } catch (err) {
        log(`could not drop database ${name}: ${err.message}`);
      } finally {
        await d.end().catch(() => {});
      }
    });
  }
  return url;
}
let pgVersion = '';

// ---------------------------------------------------------------------------------------
// Targets

// A server that died: copy its log out of the (deleted) work dir and show its tail.
function keepLog(target, logFile, what) {
  const kept = join(tmpdir(), `axon-bench-sync-${RUN_ID}-${target}.log`);
  try {
    writeFileSync(kept, readFileSync(logFile));
  } catch {
    /* no log */
  }
  const lastLines = tail(kept, 8)
    .split('\n')
    .map((l) => `    ${l.slice(0, 400)}`)
    .join('\n');
  notes.push(`${target}: ${what}; log kept in ${kept}, last lines:\n${lastLines}`);
}

function workDir(target) {
  const dir = mkdtempSync(join(tmpdir(), `axon-bench-sync-${target}-`));
  if (!KEEP) cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  else notes.push(`${target}: data and logs kept in ${dir}`);
  return dir;
}

async function axonTarget(target, databaseUrl) {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const dir = workDir(target);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH ?? '',
    AXON_DATA_DIR: join(dir, 'data'),
    AXON_CLIENT_LISTEN: `127.0.0.1:${port}`,
    AXON_SERVER_NAME: SERVER_NAME,
    AXON_ENABLE_REGISTRATION: 'true',
    AXON_RATE_LIMITS_ENABLED: 'false',
    AXON_LOG_LEVEL: 'warn',
    ...(databaseUrl ? { AXON_DATABASE_URL: databaseUrl } : {}),
  };
  const nodeArgs = (process.env.BENCH_SYNC_AXON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const launch = () => startProcess(target, process.execPath, [...nodeArgs, MAIN], { env, cwd: ROOT, logFile: join(dir, 'homeserver.log') });
  return withServer(target, baseUrl, launch, 60_000, join(dir, 'homeserver.log'), true);
}

let synapseInfo = '';
async function synapseTarget(target, dbUrl) {
  let python;
  try {
    python = execFileSync('bash', [join(ROOT, 'deploy/local/synapse.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  } catch (err) {
    throw new Error(`Synapse could not be installed from PyPI (deploy/local/synapse.sh: ${err.message.split('\n')[0]}); no Synapse numbers`);
  }
  const pyVersion = execFileSync(python, ['-c', 'import sys, synapse; print(sys.version.split()[0], synapse.__version__)'], { encoding: 'utf8' }).trim().split(' ');
  synapseInfo = `synapse ${pyVersion[1]} on python ${pyVersion[0]}`;
  const dir = workDir(target);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const big = { per_second: 1_000_000, burst_count: 1_000_000 };
  const logConfig = {
    version: 1,
    formatters: { precise: { format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s' } },
    handlers: { file: { class: 'logging.FileHandler', formatter: 'precise', filename: join(dir, 'homeserver.log') } },
    root: { level: 'WARNING', handlers: ['file'] },
    loggers: { synapse: { level: 'WARNING' }, 'synapse.storage.SQL': { level: 'WARNING' }, 'synapse.access': { level: 'WARNING' } },
    disable_existing_loggers: false,
  };
  // YAML is a superset of JSON: both files are written as JSON.
  writeFileSync(join(dir, 'log.config'), JSON.stringify(logConfig, null, 2));
  const config = {
    server_name: SERVER_NAME,
    pid_file: join(dir, 'homeserver.pid'),
    listeners: [{ port, bind_addresses: ['127.0.0.1'], type: 'http', tls: false, x_forwarded: false, resources: [{ names: ['client'], compress: false }] }],
    database: {
      name: 'psycopg2',
      args: {
        user: decodeURIComponent(dbUrl.username),
        password: decodeURIComponent(dbUrl.password),
        database: dbUrl.pathname.slice(1),
        host: dbUrl.hostname,
        port: Number(dbUrl.port || 5432),
        cp_min: 5,
        cp_max: 10,
      },
    },
    log_config: join(dir, 'log.config'),
    media_store_path: join(dir, 'media'),
    signing_key_path: join(dir, 'signing.key'),
    report_stats: false,
    macaroon_secret_key: randomBytes(32).toString('hex'),
    form_secret: randomBytes(32).toString('hex'),
    registration_shared_secret: randomBytes(32).toString('hex'),
    enable_registration: true,
    enable_registration_without_verification: true,
    // Setup only (registration); the send path never hashes a password.
    bcrypt_rounds: 4,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    rc_message: big,
    rc_registration: big,
    rc_registration_token_validity: big,
    rc_login: { address: big, account: big, failed_attempts: big },
    rc_joins: { local: big, remote: big },
    rc_joins_per_room: big,
    rc_invites: { per_room: big, per_user: big, per_issuer: big },
    rc_3pid_validation: big,
    rc_admin_redaction: big,
    rc_room_creation: big,
  };
  mkdirSync(join(dir, 'media'), { recursive: true });
  const cfgFile = join(dir, 'homeserver.yaml');
  writeFileSync(cfgFile, JSON.stringify(config, null, 2));
  execFileSync(python, ['-m', 'synapse.app.homeserver', '-c', cfgFile, '--generate-keys'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const launch = () =>
    startProcess(target, python, ['-m', 'synapse.app.homeserver', '-c', cfgFile], {
      env: { PATH: process.env.PATH ?? '', HOME: dir },
      cwd: dir,
      logFile: join(dir, 'stdout.log'),
    });
  return withServer(target, baseUrl, launch, 120_000, join(dir, 'homeserver.log'), false);
}

// Runs the workload against the server `launch()` starts; `server.restart()` stops it (by
// pid) and starts it again on the same data. A crash, or (strictExit) a non-zero exit on
// SIGTERM, keeps the log and is reported in the notes.
async function withServer(target, baseUrl, launch, readyMs, logFile, strictExit) {
  let proc;
  const stopChecked = async () => {
    const crashed = proc.isExited();
    const r = await proc.stop();
    if (crashed || (strictExit && r.code !== 0 && r.signal !== 'SIGTERM')) keepLog(target, logFile, `exited ${crashed ? 'during the run' : 'on SIGTERM'} (code ${r.code}, signal ${r.signal})`);
  };
  const start = async () => {
    proc = launch();
    serverGone = proc.isExited;
    await waitReady(baseUrl, proc, target, readyMs);
  };
  const server = {
    get pid() {
      return proc.pid;
    },
    restart: async () => {
      await stopChecked();
      await start();
    },
  };
  try {
    await start();
    return await runWorkload(target, baseUrl, server);
  } finally {
    if (proc) await stopChecked();
  }
}

// ---------------------------------------------------------------------------------------
// Main

async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (err) {
      log(`cleanup: ${err.message}`);
    }
  }
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: stopping everything this run started`);
    void cleanup().finally(() => process.exit(130));
  });
}


const unknown = TARGETS.filter((t) => !['axon-pglite', 'axon-postgres', 'synapse'].includes(t));
if (unknown.length) throw new Error(`unknown BENCH_SYNC_TARGETS: ${unknown.join(', ')}`);

const nofile = openFilesLimit();
console.log(`node ${process.version} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB), ${process.platform}/${process.arch}; open files limit ${nofile}`);
console.log(
  `idle long-polls ${POLLS.join(', ')} (cumulative, timeout ${IDLE_TIMEOUT_MS / 1000} s, spread over ${IDLE_USERS} idle users in no room); ${MESSAGES} measured messages per step; ` +
    `initial sync in ${ROOMS.join(', ')} rooms (${ROOM_MESSAGES} messages each, median of ${INITIAL_RUNS}); targets run one after another`,
);
const maxPolls = Math.max(...POLLS);
if (Number.isFinite(nofile) && nofile < maxPolls + 500) notes.push(`open files limit ${nofile} is below ${maxPolls} polls + headroom: raise it (ulimit -n) or expect connection errors`);

const results = { initial: [], incremental: [], rss0: {} };
const failed = {};
try {
  const needPg = TARGETS.some((t) => t !== 'axon-pglite');
  const havePg = needPg ? await ensurePostgres() : false;
  for (const target of TARGETS) {
    if (interrupted) break;
    log(`--- ${target}`);
    try {
      let r;
      if (target === 'axon-pglite') r = await axonTarget(target, undefined);
      else if (!havePg) throw new Error('no PostgreSQL');
      else if (target === 'axon-postgres') r = await axonTarget(target, (await createDatabase(`axon_bench_sync_${RUN_ID}`)).toString());
      else r = await synapseTarget(target, await createDatabase(`synapse_bench_sync_${RUN_ID}`, { synapse: true }));
      results.initial.push(...r.initial);
      results.incremental.push(...r.incremental);
      results.rss0[target] = r.rss0Mb;
    } catch (err) {
      failed[target] = err.message;
      log(`${target} FAILED: ${err.message}`);
    }
  }
} finally {
  await cleanup();
}

// ---------------------------------------------------------------------------------------
// Report

const versions = [`node ${process.version}`];
if (pgVersion) versions.push(pgVersion);
if (synapseInfo) versions.push(synapseInfo);
console.log(versions.join('; '));
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
function table(header, widths, rows) {
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  console.log();
  console.log(line(header));
  console.log('-'.repeat(widths.reduce((a, b) => a + b + 2, -2)));
  for (const r of rows) console.log(line(r));
}
table(
  ['target', 'idle polls', 'conns', 'msgs', 'msg errors', 'poll errors', 'idle returns', 'p50 ms', 'p99 ms', 'max ms', 'RSS MB', 'KB/poll', 'KB/added'],
  [13, 10, 5, 5, 10, 11, 12, 7, 7, 7, 6, 7, 8],
  results.incremental.map((r) => [r.target, r.n, r.conns, r.msgs, r.msgErrors, r.pollErrors, r.idleReturns, fmt(r.p50), fmt(r.p99), fmt(r.max), fmt(r.rssMb, 0), fmt(r.kbPerPoll, 1), fmt(r.kbPerAddedPoll, 1)]),
);
console.log('(incremental sync: send response -> measurer\'s /sync response with the event; conns = established TCP connections of the idle polls at the server;');
console.log(' KB/poll = (server VmRSS with the polls open - with none) / polls; KB/added = RSS growth since the previous step / polls added;');
console.log(' idle returns = idle polls that came back during the step)');
table(
  ['target', 'rooms', 'runs', 'median ms', 'min ms', 'max ms', 'rooms returned'],
  [13, 5, 4, 9, 7, 7, 14],
  results.initial.map((r) => [r.target, r.rooms, r.runs, fmt(r.median), fmt(r.min), fmt(r.max), r.returned]),
);
console.log('(initial sync: GET /sync without since, timeline limit 10, of a user who created every room)');

const sInc = new Map(results.incremental.filter((r) => r.target === 'synapse').map((r) => [r.n, r]));
const sIni = new Map(results.initial.filter((r) => r.target === 'synapse').map((r) => [r.rooms, r]));
const ratioRows = [];
for (const a of results.incremental.filter((r) => r.target.startsWith('axon'))) {
  const s = sInc.get(a.n);
  if (s) ratioRows.push([a.target, `incremental, ${a.n} idle polls`, `${fmt(a.p50 / s.p50, 2)}x`, `${fmt(a.p99 / s.p99, 2)}x`, a.n ? `${fmt(a.kbPerPoll / s.kbPerPoll, 2)}x` : '-']);
}
for (const a of results.initial.filter((r) => r.target.startsWith('axon'))) {
  const s = sIni.get(a.rooms);
  if (s) ratioRows.push([a.target, `initial sync, ${a.rooms} rooms`, `${fmt(a.median / s.median, 2)}x`, '-', '-']);
}
if (ratioRows.length) {
  table(['Axon / Synapse', 'measure', 'p50/median', 'p99', 'KB/poll'], [14, 29, 10, 6, 7], ratioRows);
  console.log('(below 1: Axon is faster / uses less memory per idle poll)');
} else {
  console.log('\nno Axon / Synapse ratios: ' + (sInc.size ? 'no Axon results' : 'no Synapse results in this run'));
}
for (const [t, msg] of Object.entries(failed)) console.log(`FAILED ${t}: ${msg.split('\n').slice(0, 12).join('\n    ')}`);
for (const n of notes) console.log(`note: ${n}`);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s${infraStartedByUs ? ' (including deploy/local/up.sh and down.sh)' : ''}`);
if (Object.keys(failed).length) process.exitCode = 1;
