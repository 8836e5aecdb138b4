// Message-send throughput and latency over the Client-Server API: Axon on PGlite, Axon on
// PostgreSQL and Synapse on PostgreSQL, on this machine, in this run, with the same client
// code. Run `npm run bench:send`.
//
// For each target, one after another (never in parallel): start it fresh (own data dir,
// own database), register N users (N = the largest concurrency) with the m.login.dummy
// UIA flow, create one public room, join everyone, warm up, then for each concurrency c
// let c users send m.room.message events back-to-back (PUT .../send/m.room.message/{txn})
// for BENCH_SEND_SECONDS, recording every request's latency. Only 200 responses with an
// event_id count; anything else is counted in `errors`. The server is stopped (by pid)
// before the next target starts, also on failure.
//
// PostgreSQL: AXON_DATABASE_URL (source deploy/local/env.sh) names the cluster; the bench
// creates a fresh database per target in it and drops it afterwards. Without a reachable
// cluster it runs deploy/local/up.sh, and deploy/local/down.sh at the end (only then).
// Synapse comes from PyPI via deploy/local/synapse.sh (cached venv under ~/.cache/axon).
//
// Environment:
//   BENCH_SEND_TARGETS      axon-pglite,axon-postgres,synapse   (any subset)
//   BENCH_SEND_CONCURRENCY  1,10,50
//   BENCH_SEND_SECONDS      10    measured seconds per (target, concurrency)
//   BENCH_SEND_WARMUP       5     warm-up seconds per target (after every user sent once)
//   BENCH_SEND_KEEP         1 keeps data dirs, logs and databases (printed)
//   BENCH_SEND_AXON_NODE_ARGS  extra node flags for Axon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
//
// Columns: msg/s = successful sends per second of wall clock; p50/p99/max = request
// latency in ms as the client sees it (request written to response body read); server
// CPU = user+sys CPU ms per message of the homeserver process (PGlite runs inside it);
// db CPU = of all `postgres` processes on the machine (0 on PGlite); client CPU = of this
// driver (it shares the 2 cores); db xacts / rows written / rows read per message come
// from pg_stat_database for the target's own database (Postgres targets only).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const TARGETS = (process.env.BENCH_SEND_TARGETS ?? 'axon-pglite,axon-postgres,synapse').split(',').map((s) => s.trim()).filter(Boolean);
const CONCURRENCY = (process.env.BENCH_SEND_CONCURRENCY ?? '1,10,50').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SEND_SECONDS ?? 10);
const WARMUP_S = Number(process.env.BENCH_SEND_WARMUP ?? 5);
const KEEP = process.env.BENCH_SEND_KEEP === '1';
const USERS = Math.max(...CONCURRENCY);
const SERVER_NAME = 'bench.localhost';
const RUN_ID = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const PASSWORD = 'bench-password-1';
const HZ = 100; // USER_HZ: /proc/<pid>/stat ticks per second on Linux
const PAGE = 4096;

const started = performance.now();
const cleanups = []; // run in reverse order, also on failure / Ctrl-C
const notes = [];
const log = (msg) => process.stderr.write(`[bench:send] ${msg}\n`);

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

// CPU of the PostgreSQL processes: every live process named postgres, plus the
// postmaster's cutime/cstime (its exited children: backends that closed, autovacuum
// workers), so a backend that exits during a window keeps its CPU in the count. This is
// the whole cluster: anything else using it at the same time is counted too.
function postgresCpuMs() {
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'postgres') continue;
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      procs.set(d, { ppid: f[1], own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) });
    } catch {
      continue;
    }
  }
  let ticks = 0;
  for (const p of procs.values()) ticks += p.own + (procs.has(p.ppid) ? 0 : p.children);
  return (ticks * 1000) / HZ;
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

async function setupRoom(client) {
  const users = new Array(USERS);
  // Registration hashes a password (argon2 / bcrypt): a few at a time.
  await pool(USERS, 5, async (i) => {
    const username = `bench${i}`;
    const body = { username, password: PASSWORD, initial_device_display_name: 'bench' };
    const first = await client.call('POST', '/_matrix/client/v3/register', { body });
    if (first.status !== 401 || !first.json.session) throw new Error(`register ${username}: expected 401 with a session, got ${first.status} ${JSON.stringify(first.json)}`);
    const done = await must(
      client.call('POST', '/_matrix/client/v3/register', {
        body: { ...body, auth: { type: 'm.login.dummy', session: first.json.session } },
      }),
      `register ${username}`,
    );
    users[i] = { userId: done.user_id, token: done.access_token };
  });
  const { room_id: roomId } = await must(
    client.call('POST', '/_matrix/client/v3/createRoom', { token: users[0].token, body: { preset: 'public_chat', name: 'bench' } }),
    'createRoom',
  );
  // Joins one at a time: they all append to the same room, like the sends.
  for (let i = 1; i < USERS; i++) {
    await must(client.call('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: users[i].token, body: {} }), `join bench${i}`);
  }
  return { users, roomId };
}

let txnCounter = 0;
let serverGone = () => false; // set per target: has the server process exited?
// c senders, back-to-back, for `seconds`. Returns latencies (ms) of successful sends.
async function sendPhase(client, roomId, users, c, seconds) {
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/`;
  const latencies = [];
  let errors = 0;
  let firstError;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: c }, async (_, i) => {
      const { token } = users[i];
      while (performance.now() < deadline) {
        const txn = `${RUN_ID}-${++txnCounter}`;
        const s = performance.now();
        let r;
        try {
          r = await client.call('PUT', path + txn, { token, body: { msgtype: 'm.text', body: `message ${txnCounter} from sender ${i}` } });
        } catch (err) {
          r = { status: 0, json: { error: String(err) } };
        }
        const ms = performance.now() - s;
        if (r.status === 200 && typeof r.json.event_id === 'string') latencies.push(ms);
        else {
          errors++;
          firstError ??= `HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`;
          if (r.status === 0 && serverGone()) break; // the server died: stop this sender
          if (r.status === 0 || r.status >= 500) await sleep(50); // do not spin on errors
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return { latencies, errors, firstError, elapsed };
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// Transactions and rows written in one database, from pg_stat_database. Backends report
// their counters at most once a second, so callers wait 1.2 s before reading.
async function dbCounters(dbName) {
  if (!dbName) return undefined;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const { rows } = await c.query(
      'select xact_commit + xact_rollback as xacts, tup_inserted + tup_updated + tup_deleted as written, tup_returned + tup_fetched as read from pg_stat_database where datname = $1',
      [dbName],
    );
    return { xacts: Number(rows[0].xacts), written: Number(rows[0].written), read: Number(rows[0].read) };
  } finally {
    await c.end();
  }
}

async function runWorkload(target, baseUrl, pid, dbName) {
  const usesPostgres = Boolean(dbName);
  const client = makeClient(baseUrl);
  try {
    const s = performance.now();
    const { users, roomId } = await setupRoom(client);
    log(`${target}: ${USERS} users registered and joined ${roomId} in ${((performance.now() - s) / 1000).toFixed(1)} s`);
    // Warm-up: every user sends once, then WARMUP_S seconds at the middle concurrency.
    await pool(USERS, 10, async (i) => {
      await must(
        client.call('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${RUN_ID}-w${i}`, {
          token: users[i].token,
          body: { msgtype: 'm.text', body: 'warm-up' },
        }),
        `warm-up send bench${i}`,
      );
    });
    if (WARMUP_S > 0) {
      const w = await sendPhase(client, roomId, users, Math.min(10, USERS), WARMUP_S);
      if (w.errors) log(`${target}: warm-up had ${w.errors} errors (first: ${w.firstError})`);
    }
    const rows = [];
    for (const c of CONCURRENCY) {
      await sleep(1200);
      const stats0 = await dbCounters(dbName);
      const client0 = process.cpuUsage();
      const cpu0 = procStat(pid)?.cpuMs ?? NaN;
      const db0 = usesPostgres ? postgresCpuMs() : 0;
      const r = await sendPhase(client, roomId, users, c, SECONDS);
      const cpu1 = procStat(pid)?.cpuMs ?? NaN;
      const db1 = usesPostgres ? postgresCpuMs() : 0;
      const client1 = process.cpuUsage(client0);
      await sleep(1200);
      const stats1 = await dbCounters(dbName);
      const sorted = Float64Array.from(r.latencies).sort();
      const n = sorted.length;
      const row = {
        target,
        c,
        sent: n,
        errors: r.errors,
        msgPerSec: n / r.elapsed,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: n ? sorted[n - 1] : NaN,
        cpuPerMsg: n ? (cpu1 - cpu0) / n : NaN,
        dbPerMsg: n ? (db1 - db0) / n : NaN,
        rssMb: procStat(pid)?.rssMb ?? NaN,
        clientPerMsg: n ? (client1.user + client1.system) / 1000 / n : NaN,
        xactsPerMsg: stats0 && n ? (stats1.xacts - stats0.xacts) / n : NaN,
        writtenPerMsg: stats0 && n ? (stats1.written - stats0.written) / n : NaN,
        readPerMsg: stats0 && n ? (stats1.read - stats0.read) / n : NaN,
      };
      rows.push(row);
      log(
        `${target} c=${c}: ${row.msgPerSec.toFixed(1)} msg/s, p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms` +
          (r.errors ? `, ${r.errors} errors (first: ${r.firstError})` : ''),
      );
      if (r.errors) notes.push(`${target} c=${c}: ${r.errors} failed sends, first: ${r.firstError}`);
    }
    return rows;
  } finally {
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
  const kept = join(tmpdir(), `axon-bench-send-${RUN_ID}-${target}.log`);
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
  const dir = mkdtempSync(join(tmpdir(), `axon-bench-send-${target}-`));
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
  const nodeArgs = (process.env.BENCH_SEND_AXON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = startProcess(target, process.execPath, [...nodeArgs, MAIN], { env, cwd: ROOT, logFile: join(dir, 'homeserver.log') });
  serverGone = proc.isExited;
  try {
    await waitReady(baseUrl, proc, target, 60_000);
    return await runWorkload(target, baseUrl, proc.pid, databaseUrl ? new URL(databaseUrl).pathname.slice(1) : undefined);
  } finally {
    const crashed = proc.isExited();
    const r = await proc.stop();
    if (crashed || (r.code !== 0 && r.signal !== 'SIGTERM')) keepLog(target, proc.logFile, `exited during the run (code ${r.code}, signal ${r.signal})`);
  }
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
  const proc = startProcess(target, python, ['-m', 'synapse.app.homeserver', '-c', cfgFile], {
    env: { PATH: process.env.PATH ?? '', HOME: dir },
    cwd: dir,
    logFile: join(dir, 'stdout.log'),
  });
  serverGone = proc.isExited;
  try {
    await waitReady(baseUrl, proc, target, 120_000);
    return await runWorkload(target, baseUrl, proc.pid, dbUrl.pathname.slice(1));
  } finally {
    const crashed = proc.isExited();
    const r = await proc.stop();
    if (crashed) keepLog(target, join(dir, 'homeserver.log'), `exited during the run (code ${r.code}, signal ${r.signal})`);
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
if (unknown.length) throw new Error(`unknown BENCH_SEND_TARGETS: ${unknown.join(', ')}`);

console.log(`node ${process.version} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB), ${process.platform}/${process.arch}`);
console.log(`${USERS} users in one public room; concurrency ${CONCURRENCY.join(', ')}; ${SECONDS} s per measurement after ${WARMUP_S} s warm-up; targets run one after another`);

const results = [];
const failed = {};
try {
  const needPg = TARGETS.some((t) => t !== 'axon-pglite');
  const havePg = needPg ? await ensurePostgres() : false;
  for (const target of TARGETS) {
    if (interrupted) break;
    log(`--- ${target}`);
    try {
      if (target === 'axon-pglite') results.push(...(await axonTarget(target, undefined)));
      else if (!havePg) throw new Error('no PostgreSQL');
      else if (target === 'axon-postgres') {
        const url = await createDatabase(`axon_bench_send_${RUN_ID}`);
        results.push(...(await axonTarget(target, url.toString())));
      } else {
        const url = await createDatabase(`synapse_bench_send_${RUN_ID}`, { synapse: true });
        results.push(...(await synapseTarget(target, url)));
      }
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
const header = ['target', 'senders', 'msgs', 'errors', 'msg/s', 'p50 ms', 'p99 ms', 'max ms', 'server CPU', 'db CPU', 'client CPU', 'db xacts', 'rows written', 'rows read', 'RSS MB'];
const widths = [13, 7, 6, 6, 7, 7, 7, 7, 10, 6, 10, 8, 12, 9, 6];
const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
console.log();
console.log(line(header));
console.log('-'.repeat(widths.reduce((a, b) => a + b + 2, -2)));
for (const r of results) {
  console.log(line([r.target, r.c, r.sent, r.errors, fmt(r.msgPerSec), fmt(r.p50), fmt(r.p99), fmt(r.max), fmt(r.cpuPerMsg, 2), fmt(r.dbPerMsg, 2), fmt(r.clientPerMsg, 2), fmt(r.xactsPerMsg, 1), fmt(r.writtenPerMsg, 1), fmt(r.readPerMsg, 0), fmt(r.rssMb, 0)]));
}
console.log('(server/db/client CPU in ms per message; db xacts, rows written, rows read per message from pg_stat_database; RSS of the server process at the end)');

// Ratios: Axon / Synapse. Throughput > 1 = Axon sends more per second; latency < 1 =
// Axon answers faster.
const synapseRows = new Map(results.filter((r) => r.target === 'synapse').map((r) => [r.c, r]));
const axonRows = results.filter((r) => r.target.startsWith('axon'));
console.log();
if (synapseRows.size && axonRows.length) {
  const rh = ['Axon / Synapse', 'senders', 'msg/s ratio', 'p50 ratio', 'p99 ratio'];
  const rw = [14, 7, 11, 9, 9];
  const rl = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(rw[i]) : String(c).padStart(rw[i]))).join('  ');
  console.log(rl(rh));
  console.log('-'.repeat(rw.reduce((a, b) => a + b + 2, -2)));
  for (const a of axonRows) {
    const s = synapseRows.get(a.c);
    if (!s) continue;
    console.log(rl([a.target, a.c, `${fmt(a.msgPerSec / s.msgPerSec, 2)}x`, `${fmt(a.p50 / s.p50, 2)}x`, `${fmt(a.p99 / s.p99, 2)}x`]));
  }
  console.log('(msg/s ratio > 1: Axon sends more per second; latency ratio < 1: Axon answers faster)');
} else {
  console.log('no Axon / Synapse ratios: ' + (synapseRows.size ? 'no Axon results' : 'no Synapse results in this run'));
}
for (const [t, msg] of Object.entries(failed)) console.log(`FAILED ${t}: ${msg.split('\n').slice(0, 12).join('\n    ')}`);
for (const n of notes) console.log(`note: ${n}`);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s${infraStartedByUs ? ' (including deploy/local/up.sh and down.sh)' : ''}`);
if (Object.keys(failed).length) process.exitCode = 1;
